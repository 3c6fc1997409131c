// Conversions between net::Endpoint and the socket API's address structures (sockaddr_in,
// sockaddr_in6 inside a sockaddr_storage), shared by the stream, TCP and raw sockets.
#pragma once

#include <optional>
#include <sys/socket.h>

#include "common/net/flow_key.h"

namespace tcpr::os {

// Zeroes ss and fills it with e as a sockaddr_in6 (IPv6) or a sockaddr_in (IPv4), port in network
// order. Returns the length to pass to connect(), bind() or sendto(). Never fails.
socklen_t to_sockaddr(const net::Endpoint& e, sockaddr_storage& ss);

// The address and port in ss: AF_INET6 as an IPv6 address (IPv4-mapped addresses are returned as
// they are, not unmapped), any other family read as AF_INET. Never fails.
net::Endpoint from_sockaddr(const sockaddr_storage& ss);

// The local address of socket fd (getsockname, read by from_sockaddr). nullopt if getsockname
// fails; errno then says why.
std::optional<net::Endpoint> local_endpoint_of(int fd);

}  // namespace tcpr::os
