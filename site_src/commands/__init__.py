"""One module per command; see site_src/cli.py for the contract."""
