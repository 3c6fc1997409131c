// The replayer's modes, chosen on the command line (run/replay_options.h) and named in the report.
#pragma once

#include <cstdint>

namespace tcpr::replay {

// How sessions reach the target (--transport): forged packets followed through intercept
// (RawTransport), or ordinary connections from this host (SocketTransport).
enum class TransportMode : uint8_t { Raw, Socket };

// How raw packets leave (--inject): an IP_HDRINCL socket, or frames through pcap_inject.
enum class InjectMode : uint8_t { RawSocket, Pcap };

}  // namespace tcpr::replay
