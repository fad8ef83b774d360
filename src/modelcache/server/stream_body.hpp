// The body of a GET for a file that a pull is still fetching: the bytes that
// are in its part file in order go out as they land, the last byte only once
// the file is verified and committed as a blob. So a client never receives a
// complete response with bytes that later fail verification: on a failure the
// connection is closed with the body short of its Content-Length.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "server/flight.hpp"

namespace modelcache::server {

// How many bytes from the start of a `size`-byte file may go to the client now:
// all once it is committed (verified), else the in-order ones but the last.
std::uint64_t sendable_bytes(const FlightFile& file, std::uint64_t size);

// Writes the `size` bytes of `path` from `flight` to `socket`; false (close the
// connection) when the file fails or its size is not `size`, the pull ends
// without it, or the client is gone.
bool stream_flight_file(int socket, Flight& flight, const std::string& path, std::uint64_t size);

}  // namespace modelcache::server
