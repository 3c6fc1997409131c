#include "common/os/auth.h"

#include <cerrno>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base/error.h"
#include "common/os/unique_fd.h"

namespace tcpr::os {

std::string auth_key_problem(std::span<const uint8_t> key) {
    if (key.empty()) {
        return "it is empty";
    }
    if (key.size() < kMinAuthKeyBytes) {
        return "it is too short (" + std::to_string(key.size()) + " bytes; at least " +
               std::to_string(kMinAuthKeyBytes) +
               ": make one with 'head -c 32 /dev/urandom | base64 > FILE')";
    }
    if (key.size() > kMaxAuthKeyBytes) {
        return "it is too long (over " + std::to_string(kMaxAuthKeyBytes) + " bytes)";
    }
    return {};
}

std::vector<uint8_t> read_auth_key(const std::string& path, const std::string& option) {
    const std::string what = "cannot use the key file '" + path + "' (" + option + ")";
    UniqueFd fd = UniqueFd::adopt(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        throw_errno(what, errno);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        throw_errno(what, errno);
    }
    if (!S_ISREG(st.st_mode)) {
        throw Error(ErrorKind::Io, what + ": not a regular file");
    }
    if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
        throw Error(ErrorKind::Permission,
                    what + ": it is accessible by every user (run 'chmod " + "600 " + path + "')");
    }
    std::vector<uint8_t> key;
    uint8_t buf[1024];
    while (key.size() <= kMaxAuthKeyBytes + 2) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_errno(what, errno);
        }
        if (n == 0) {
            break;
        }
        key.insert(key.end(), buf, buf + n);
    }
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) {
        key.pop_back();
    }
    const std::string problem = auth_key_problem(key);
    if (!problem.empty()) {
        throw Error(ErrorKind::Io, what + ": " + problem);
    }
    return key;
}

std::array<uint8_t, 32> hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> data) {
    std::array<uint8_t, 32> out{};
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(),
             out.data(), &len) == nullptr ||
        len != out.size()) {
        throw Error(ErrorKind::Internal, "HMAC-SHA256 failed (OpenSSL)");
    }
    return out;
}

void random_bytes(std::span<uint8_t> out) {
    if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
        throw Error(ErrorKind::Internal, "no random bytes available (OpenSSL RAND_bytes)");
    }
}

bool equal_constant_time(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

wire::Challenge make_challenge() {
    wire::Challenge c;
    random_bytes(c.nonce);
    return c;
}

namespace {
std::vector<uint8_t> proof_input(const wire::Challenge& challenge, const wire::Hello& hello) {
    std::vector<uint8_t> data(challenge.nonce.begin(), challenge.nonce.end());
    wire::encode(hello, data);
    return data;
}
}  // namespace

wire::Auth auth_proof(std::span<const uint8_t> key, const wire::Challenge& challenge,
                      const wire::Hello& hello) {
    wire::Auth a;
    a.mac = hmac_sha256(key, proof_input(challenge, hello));
    return a;
}

bool auth_valid(std::span<const uint8_t> key, const wire::Challenge& challenge,
                const wire::Hello& hello, const wire::Auth& auth) {
    const auto expected = hmac_sha256(key, proof_input(challenge, hello));
    return equal_constant_time(expected, auth.mac);
}

}  // namespace tcpr::os
