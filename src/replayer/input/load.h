// Reads the input (our .pcap.zst archives and pcap/pcapng files, one or several) into a
// Recording. Several inputs are one recording: their packets are merged by capture time
// (rotated archives of one capture, hourly archives of a day, captures of several hosts), so a
// connection that spans two rotated files is one session.
#pragma once

#include <string>
#include <vector>

#include "common/archive/archive_reader.h"
#include "replayer/sessions/session_builder.h"

namespace tcpr::replay {

struct LoadedInput {
    Recording recording;
    std::string format;            // "archive", "pcap/pcapng", or "2 archives + 1 pcap/pcapng"
    uint32_t link_type = 0;        // the first input's
    size_t files = 0;              // inputs read
    archive::DamageReport damage;  // archives: frames skipped as damaged
    std::optional<uint16_t> server_port;  // the port sessions were oriented/selected by
    // Archives whose index was unusable (frames rescanned), one line each: the file and why.
    std::string recovered_from;
};

// The files `args` name (--in, repeatable): each argument a path or a glob pattern ('*', '?',
// '[...]'), its matches in name order; a file named twice is read once. Throws Error(Usage)
// with one line when a pattern matches nothing.
std::vector<std::string> expand_inputs(const std::vector<std::string>& args);

// Throws tcpr::Error with one clear line if a file cannot be opened or is not a capture.
// A damaged archive is read as far as it is readable (see LoadedInput::damage); one without a
// usable trailer or index (a recording that was killed, a truncated copy) is rebuilt in memory
// from its intact frames first (LoadedInput::recovered_from says why). Several files are read
// together, packet by packet in capture-time order (ties: the earlier file first).
LoadedInput load_input(const std::vector<std::string>& paths, BuilderOptions options);
inline LoadedInput load_input(const std::string& path, BuilderOptions options) {
    return load_input(std::vector<std::string>{path}, std::move(options));
}

}  // namespace tcpr::replay
