import LBConfig
import Testing

@Suite("Tessera config files without an importer")
struct ImportWithoutImporterTests {
    @Test("--tessera-config needs an importer; ConfigLoader alone says so")
    func noImporter() {
        #expect(rejection(ConfigOverrides(tesseraConfigs: ["node1.json"])) ==
            "invalid --tessera-config: this program cannot read Tessera config files")
    }
}
