// SIGINT/SIGTERM -> a stop flag (and a wake-up of the registered live capture). Installed once.
#pragma once

struct pcap;

namespace tcpr::os {

class StopSignal {
  public:
    // Installs handlers for SIGINT, SIGTERM and SIGHUP (no SA_RESTART, so blocking calls wake).
    static void install();
    static bool requested();
    static void request();  // as if a signal arrived (tests, --duration)
    static void reset_for_test();
    // The capture to break out of when a signal arrives (nullptr to clear).
    static void set_capture(pcap* p);
};

}  // namespace tcpr::os
