"""Self-supervised methods behind one interface (`AbstractMethod`, `make_method`)."""
