// The shared key (os/auth.h): HMAC-SHA256 against RFC 4231, the proof of a Challenge, and the
// key file's rules (owner-only, not short, not empty).
#include "common/os/auth.h"

#include <filesystem>
#include <fstream>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "common/base/error.h"
#include "support/temp_dir.h"

namespace {

using namespace tcpr;

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

std::string hex(std::span<const uint8_t> b) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (const uint8_t x : b) {
        s += digits[x >> 4];
        s += digits[x & 15];
    }
    return s;
}

std::string write_key(const test::TempDir& dir, const std::string& name, const std::string& content,
                      mode_t mode) {
    const std::string path = (dir.path() / name).string();
    std::ofstream(path) << content;
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    return path;
}

std::string key_error(const std::string& path) {
    try {
        os::read_auth_key(path, "--auth-key");
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("HMAC-SHA256 is RFC 4231's", "[auth][door]") {
    // RFC 4231, test case 2.
    CHECK(hex(os::hmac_sha256(bytes("Jefe"), bytes("what do ya want for nothing?"))) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("a Challenge's proof: the right key passes, another key or another Hello fails",
          "[auth][door]") {
    const auto key = bytes("0123456789abcdef0123456789abcdef");
    const wire::Challenge c = os::make_challenge();
    const wire::Challenge c2 = os::make_challenge();
    CHECK(c.nonce != c2.nonce);  // random, not a counter
    const wire::Hello hello{wire::kProtocolVersion, "tcpreplay2 pid 1",
                            wire::kFeatureAuth | wire::kFeatureRefusals};
    const wire::Auth proof = os::auth_proof(key, c, hello);
    CHECK(os::auth_valid(key, c, hello, proof));
    // The wrong key.
    CHECK_FALSE(os::auth_valid(bytes("0123456789abcdef0123456789abcdeX"), c, hello, proof));
    // A proof made for another nonce (replayed from another connection).
    CHECK_FALSE(os::auth_valid(key, c2, hello, proof));
    // The same proof with another Hello (a name or features swapped on the way).
    wire::Hello other = hello;
    other.features |= wire::kFeaturePayload;
    CHECK_FALSE(os::auth_valid(key, c, other, proof));
    // A proof of zeros (no key at all).
    CHECK_FALSE(os::auth_valid(key, c, hello, wire::Auth{}));
    CHECK(os::equal_constant_time(bytes("abc"), bytes("abc")));
    CHECK_FALSE(os::equal_constant_time(bytes("abc"), bytes("abcd")));
}

TEST_CASE("key files: owner-only, at least 16 bytes, a trailing newline cut", "[auth][door]") {
    test::TempDir dir;
    const std::string good = write_key(dir, "good", "c2VjcmV0LWtleS1vZi10aGUtbGFi\n", 0600);
    CHECK(os::read_auth_key(good, "--auth-key") == bytes("c2VjcmV0LWtleS1vZi10aGUtbGFi"));
    CHECK(os::read_auth_key(write_key(dir, "group", "c2VjcmV0LWtleS1vZi10aGUtbGFi", 0640),
                            "--auth-key")
              .size() == 28);

    const std::string open = write_key(dir, "open", "c2VjcmV0LWtleS1vZi10aGUtbGFi\n", 0644);
    CHECK(key_error(open) == "cannot use the key file '" + open +
                                 "' (--auth-key): it is accessible by every user (run 'chmod 600 " +
                                 open + "')");
    const std::string empty = write_key(dir, "empty", "\n", 0600);
    CHECK(key_error(empty) == "cannot use the key file '" + empty + "' (--auth-key): it is empty");
    const std::string shortk = write_key(dir, "short", "hunter2\n", 0600);
    CHECK(key_error(shortk).find("it is too short (7 bytes; at least 16") != std::string::npos);
    CHECK(key_error((dir.path() / "missing").string()).find("No such file or directory") !=
          std::string::npos);
}
