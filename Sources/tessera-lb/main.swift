print("tessera-lb")
