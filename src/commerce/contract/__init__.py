"""The published contract: the AsyncAPI document per transport and its docs page."""
