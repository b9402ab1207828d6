"""The TOP gateway: method registry, signing, envelopes, errors, flow control, call log."""
