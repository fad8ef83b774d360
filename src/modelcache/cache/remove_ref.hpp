// `modelcache rm REF | REF@REV` as one function, so that the daemon's
// DELETE /v1/models/{ref} removes exactly what the CLI would: a whole model, or
// one snapshot (REV is a revision with a ref, a snapshot id, or a unique prefix
// of one of >= 7 chars). Leased snapshots are kept and named in `skipped`.
#pragma once

#include <string_view>

#include "modelcache/error.hpp"
#include "store/gc.hpp"
#include "store/store.hpp"

namespace modelcache {

// kNotCached when the model (or the named snapshot) is not in the store.
Result<store::ManageReport> remove_ref(const store::Store& store, std::string_view ref_text);

}  // namespace modelcache
