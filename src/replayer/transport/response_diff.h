// Comparing a replayed response with the recorded one, and the --diff file that lists the
// responses that differ. The socket transport has every response's bytes at hand, so it compares
// each response's first line (as raw replay does through intercept) and its length; raw replay
// sees only the first bytes intercept reports and compares the first line alone.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/net/flow_key.h"
#include "common/os/files.h"

namespace tcpr::replay {

struct ResponseCheck {
    enum class Status : uint8_t { Match, Mismatch, Unknown };
    enum class Length : uint8_t { Equal, Longer, Shorter };
    Status status = Status::Unknown;
    Length length = Length::Equal;
    std::string replayed_status;  // first line of the replayed head ("" if none)
    bool differs() const { return status == Status::Mismatch || length != Length::Equal; }
};

// recorded_status: the recording's first line ("" = not captured); replayed_head: the first
// bytes of the replayed response (any length; a line cut by its end compares on what is there).
// Status is Unknown when either side has no first line to compare.
ResponseCheck compare_response(std::string_view recorded_status, uint64_t recorded_len,
                               std::span<const uint8_t> replayed_head, uint64_t replayed_len);

// Bytes as a one-line C-like string: printable ASCII as is, \r \n \t \\ \" and \xHH otherwise;
// at most max_bytes of the input, then "..." when cut.
std::string escape_bytes(std::span<const uint8_t> bytes, size_t max_bytes);

// One response that differs from the recording, as the diff file shows it.
struct DiffEntry {
    uint32_t session = 0, copy = 0, loop = 0;
    uint32_t request = 0, request_count = 0;  // 0-based index, requests in the session
    net::Endpoint recorded_client, replayed_client, target;
    std::span<const uint8_t> request_bytes;  // the whole request as sent
    std::string_view recorded_status;
    std::string_view recorded_head;  // first captured bytes of the recorded answer (may be "")
    uint64_t recorded_len = 0;
    std::span<const uint8_t> replayed_head;
    uint64_t replayed_len = 0;
    const ResponseCheck* check = nullptr;
};

// The entry as text: a header line, what differs, then the request, the recorded response's
// head and the replayed response's head, one line each (see docs/replay.md, "--diff").
std::string format_diff_entry(const DiffEntry& e);

// The --diff file: written under a temporary name while the run goes on and published by
// commit() (an interrupted run leaves no half-written file under the final name). At most
// max_entries entries are written; the rest are only counted.
class DiffWriter {
  public:
    static constexpr uint64_t kDefaultMaxEntries = 100'000;
    // Throws Error(Io) "cannot open '<path>': ..." before the run starts.
    DiffWriter(const std::string& path, const std::string& header,
               uint64_t max_entries = kDefaultMaxEntries);
    void add(const DiffEntry& e);
    // Appends a closing comment and publishes the file. Throws Error(Io) on a write failure.
    void commit();
    uint64_t entries() const { return entries_; }
    uint64_t written() const { return written_; }
    const std::string& path() const { return file_.path(); }

  private:
    void write(const std::string& text);
    os::AtomicFile file_;
    std::string pending_;  // buffered entries (written in 64 KiB pieces)
    uint64_t max_entries_;
    uint64_t entries_ = 0, written_ = 0;
};

}  // namespace tcpr::replay
