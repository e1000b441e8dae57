// tessera-lb: the command line. Parsing, logging bootstrap and exit codes; everything else is reachable from
// the TesseraLB module, where the tests reach it too.
TesseraLBCommand.main()
