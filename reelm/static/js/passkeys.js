// Passkeys (WebAuthn): filled in below.
