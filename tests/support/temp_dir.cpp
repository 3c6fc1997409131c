#include "support/temp_dir.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>

namespace tcpr::test {

TempDir::TempDir(std::string_view prefix) {
    const char* env = std::getenv("TMPDIR");
    const std::filesystem::path base = env != nullptr && *env != '\0' ? env : "/tmp";
    std::string templ = (base / (std::string(prefix) + ".XXXXXX")).string();
    if (::mkdtemp(templ.data()) == nullptr) {
        throw std::runtime_error("cannot create temp dir " + templ + ": " + std::strerror(errno));
    }
    path_ = templ;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);  // quietly: destructors never throw
}

void write_file(const std::filesystem::path& path, std::span<const uint8_t> bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) {
        throw std::runtime_error("cannot create " + path.string());
    }
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
        throw std::runtime_error("cannot write " + path.string());
    }
}

void write_file(const std::filesystem::path& path, std::string_view text) {
    write_file(
        path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot open " + path.string());
    }
    std::vector<uint8_t> out((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
    if (in.bad()) {
        throw std::runtime_error("cannot read " + path.string());
    }
    return out;
}

}  // namespace tcpr::test
