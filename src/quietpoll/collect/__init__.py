"""Encrypted field collection: the study's keys (HPKE X25519, private key under scrypt + AEAD, Shamir
shares), the padded envelope sealed before anything is stored, the ciphertext-only store, the
submission API, and pulling decrypted responses on the key holder's machine."""
