// Output file names for rotation: strftime expansion (-G) and numbered parts (-C).
#pragma once

#include <ctime>
#include <string>

namespace tcpr::rec {

// "monday.pcap.zst" -> "monday.pcap.zst", then "monday-1.pcap.zst", "monday-2.pcap.zst", ...
// With strftime=true, %-codes are expanded with local time first; a repeated expansion gets a
// number too, so no file is ever overwritten by a later part of the same run.
class OutputNamer {
  public:
    OutputNamer(std::string pattern, bool strftime)
        : pattern_(std::move(pattern)), strftime_(strftime) {}
    std::string next(std::time_t now);

  private:
    std::string pattern_;
    bool strftime_;
    std::string last_base_;
    int part_ = 0;
};

// Inserts "-<n>" before the ".pcap.zst" (or last) extension.
std::string numbered_name(const std::string& name, int n);

}  // namespace tcpr::rec
