// Byte sinks and sources the archive code writes to and reads from. The archive library does
// no OS calls itself: os/ provides file-backed implementations, tests use the in-memory ones.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace tcpr::archive {

// Sequential output. write() either writes everything or throws tcpr::Error (disk full, ...).
class ByteSink {
  public:
    virtual ~ByteSink() = default;
    virtual void write(std::span<const uint8_t> bytes) = 0;
    // Bytes written so far.
    virtual uint64_t position() const = 0;
};

// Random-access input of a fixed size. read_at() returns the number of bytes read, which is
// less than out.size() only at the end of the data; it throws tcpr::Error on I/O errors.
class ByteSource {
  public:
    virtual ~ByteSource() = default;
    virtual uint64_t size() const = 0;
    virtual size_t read_at(uint64_t offset, std::span<uint8_t> out) const = 0;
};

class VectorSink final : public ByteSink {
  public:
    void write(std::span<const uint8_t> bytes) override {
        data_.insert(data_.end(), bytes.begin(), bytes.end());
    }
    uint64_t position() const override { return data_.size(); }
    const std::vector<uint8_t>& data() const { return data_; }
    std::vector<uint8_t>& data() { return data_; }

  private:
    std::vector<uint8_t> data_;
};

// Does not own the bytes: they must outlive the source.
class SpanSource final : public ByteSource {
  public:
    explicit SpanSource(std::span<const uint8_t> bytes) : bytes_(bytes) {}
    uint64_t size() const override { return bytes_.size(); }
    size_t read_at(uint64_t offset, std::span<uint8_t> out) const override;

  private:
    std::span<const uint8_t> bytes_;
};

}  // namespace tcpr::archive
