// How the daemon's model manager finds a model's files: the model id is pulled
// through PullThrough (single-flight with the mirror's pulls, counted in
// /metrics), with package negotiation ("auto": a model that offers packages gets
// the one that fits this machine; one that does not gets all its files). A
// cached commit or a fresh ref (MODELCACHE_REF_TTL) is answered by the store: a
// reload after an eviction downloads nothing.
#pragma once

#include "manager/model_manager.hpp"
#include "server/pull_through.hpp"

namespace modelcache::server {

// Pulls without a client token: the manager shares a loaded model among every
// client, so it loads only what needs none (public Hub repos, local paths, or
// buckets the daemon's own credentials reach).
manager::Resolver pull_resolver(PullThrough& pulls);

}  // namespace modelcache::server
