"""Platform adapters: they translate between the core and a chat platform or the terminal."""
