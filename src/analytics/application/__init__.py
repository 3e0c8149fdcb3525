"""Use cases and the ports (Protocols) they need. Imports only the domain."""
