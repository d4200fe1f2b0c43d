"""Sans-IO protocol: the data model, the wire codec, compression, signatures, both
sides of one exchange, the submission state machine. Imports nothing that does I/O."""
