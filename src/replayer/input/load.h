// Reads the input (our .pcap.zst archive, or a pcap/pcapng file) into a Recording.
#pragma once

#include <string>

#include "common/archive/archive_reader.h"
#include "replayer/sessions/session_builder.h"

namespace tcpr::replay {

struct LoadedInput {
    Recording recording;
    std::string format;  // "archive", "pcap/pcapng"
    uint32_t link_type = 0;
    archive::DamageReport damage;         // archives: frames skipped as damaged
    std::optional<uint16_t> server_port;  // the port sessions were oriented/selected by
    std::string recovered_from;           // archives: why the index was unusable (frames rescanned)
};

// Throws tcpr::Error with one clear line if the file cannot be opened or is not a capture.
// A damaged archive is read as far as it is readable (see LoadedInput::damage); one without a
// usable trailer or index (a recording that was killed, a truncated copy) is rebuilt in memory
// from its intact frames first (LoadedInput::recovered_from says why).
LoadedInput load_input(const std::string& path, BuilderOptions options);

}  // namespace tcpr::replay
