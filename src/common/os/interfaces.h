// The networks this host is directly attached to: every address of every interface (up or not,
// IPv4 and IPv6, link-local included) with its netmask, from getifaddrs(3).
#pragma once

#include <vector>

#include "common/net/address_parse.h"

namespace tcpr::os {

// Throws Error with one line when getifaddrs fails.
std::vector<net::Cidr> interface_networks();

}  // namespace tcpr::os
