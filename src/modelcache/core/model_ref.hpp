// Parsing of model references: what the user types after `modelcache pull`.
//   hf://ORG/NAME[@REV]            Hugging Face model repo (legacy hf://NAME too)
//   hf://datasets/ORG/NAME[@REV]   Hugging Face dataset repo
//   http(s)://host/path/file       one file over HTTP(S)
//   file:///abs/dir, /abs/dir, ./rel/dir   a local directory (or single file)
//   s3://BUCKET[/PREFIX][@SNAPSHOT]          objects under a prefix of an S3 bucket
//   gs://BUCKET[/PREFIX][@SNAPSHOT]          objects under a prefix of a GCS bucket
//   az://ACCOUNT/CONTAINER[/PREFIX][@SNAPSHOT]  (also azure://) Azure Blob
// A bucket ref's optional @SNAPSHOT is a 40-hex snapshot id (what a lock file
// records): the listing must still hash to it, and a cached copy needs no request.
#pragma once

#include <string>
#include <string_view>

#include "modelcache/error.hpp"

namespace modelcache::core {

enum class RefKind { kHuggingFace, kHttp, kFile, kS3, kGcs, kAzure };
enum class RepoType { kModel, kDataset };

struct ModelRef {
  RefKind kind = RefKind::kHuggingFace;
  RepoType repo_type = RepoType::kModel;
  std::string repo;      // hf: "org/name"; http: the URL; file: absolute path;
                         // s3/gs: "BUCKET" or "BUCKET/PREFIX"; az: "ACCOUNT/CONTAINER[/PREFIX]"
  std::string revision;  // hf: as given, "main" when absent; buckets: pinned snapshot id or
                         // empty; others: empty

  // The bucket (s3, gs), or "ACCOUNT/CONTAINER" (az), and the prefix under it
  // (no leading '/'; empty for the whole bucket).
  std::string bucket() const;
  std::string prefix() const;

  // Stable id of the model, without revision: "hf://org/name", "hf://datasets/org/name",
  // the URL (its query, which may hold a signature, replaced by a hash), "s3://b/p",
  // or "file:///abs/path". Two refs name the same model iff their ids are equal.
  std::string id() const;
  // id@revision, or the id alone when there is no revision: how messages name a ref.
  std::string display() const { return revision.empty() ? id() : id() + "@" + revision; }
  // Folder under models/: readable slug + '-' + 16 hex of sha256(id), so that two ids
  // never share a folder even when their slugs collide (case, Unicode, punctuation).
  std::string folder_name() const;
  bool is_bucket() const { return kind == RefKind::kS3 || kind == RefKind::kGcs || kind == RefKind::kAzure; }
  // "models" or "datasets": the Hub API path segment.
  std::string_view hub_type_path() const;
};

Result<ModelRef> parse_ref(std::string_view text);

// True for a full 40-hex git commit id: such a revision never moves.
bool is_commit_hash(std::string_view revision);

}  // namespace modelcache::core
