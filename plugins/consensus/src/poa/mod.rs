//! `poa`: Proof of Authority, Aura-style slot rotation with rolling finality.
