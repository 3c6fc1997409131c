// The shared key of intercept and its replayers (intercept --auth-key, tcpreplay2 --auth-key)
// and the challenge-response proof of it (docs/intercept-protocol.md, "Authentication").
// OpenSSL's libcrypto does the HMAC-SHA256, the nonces and the constant-time compare; nothing
// else of it is used (no TLS: the reports are not encrypted).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/wire/intercept_protocol.h"

namespace tcpr::os {

// Key files shorter than this (after trailing newlines are cut) are refused.
constexpr size_t kMinAuthKeyBytes = 16;
constexpr size_t kMaxAuthKeyBytes = 4096;

// Reads a key file: its bytes, trailing "\n"/"\r\n" cut. Throws Error with one line naming the
// file and `option` when it cannot be read, is readable by others (like ssh: "chmod 600 FILE"),
// is empty or shorter than kMinAuthKeyBytes, or longer than kMaxAuthKeyBytes.
std::vector<uint8_t> read_auth_key(const std::string& path, const std::string& option);

// Checks the key's rules on bytes already read (read_auth_key's length checks).
// Empty string when fine, else the reason.
std::string auth_key_problem(std::span<const uint8_t> key);

std::array<uint8_t, 32> hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> data);

// Cryptographically random bytes (OpenSSL's RAND_bytes); throws Error when none are available.
void random_bytes(std::span<uint8_t> out);

// Equal sizes and bytes, in time independent of where they differ (CRYPTO_memcmp).
bool equal_constant_time(std::span<const uint8_t> a, std::span<const uint8_t> b);

// A fresh Challenge (random nonce).
wire::Challenge make_challenge();

// The replayer's answer: HMAC-SHA256(key, nonce || the Hello frame as encoded). The Hello is
// part of the proof so its name and features cannot be swapped by a man in the middle that
// relays a proof.
wire::Auth auth_proof(std::span<const uint8_t> key, const wire::Challenge& challenge,
                      const wire::Hello& hello);

// Intercept's check of an Auth against the Challenge it sent and the Hello it read.
bool auth_valid(std::span<const uint8_t> key, const wire::Challenge& challenge,
                const wire::Hello& hello, const wire::Auth& auth);

}  // namespace tcpr::os
