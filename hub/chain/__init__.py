"""What a venue's hub and the chain's head office say to each other (`hub.chain.wire`)."""
