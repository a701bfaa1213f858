"""One module per command group. Each parses arguments, calls one service, renders."""
