// The GCS JSON-API fixture (tests/fixtures/gcs_fixture.py) for the GCS source
// tests, with an RSA service account generated here: its private key goes into
// the service-account JSON, its public key to the fixture's --account.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "fixture_process.hpp"
#include "net/http_client.hpp"
#include "temp_dir.hpp"

namespace mctest {

struct RsaKeyPem {
  std::string private_pem;
  std::string public_pem;
};

inline RsaKeyPem generate_rsa_key() {
  RsaKeyPem out;
  EVP_PKEY* key = EVP_RSA_gen(2048);
  if (!key) return out;
  auto to_string = [](BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string s(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return s;
  };
  BIO* priv = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.private_pem = to_string(priv);
  BIO* pub = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(pub, key);
  out.public_pem = to_string(pub);
  EVP_PKEY_free(key);
  return out;
}

inline void write_text(const std::filesystem::path& path, std::string_view content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary).write(content.data(), std::streamsize(content.size()));
}

inline std::string service_account_json(const std::string& email, const std::string& private_pem,
                                        const std::string& token_uri) {
  return nlohmann::json{{"type", "service_account"},
                        {"project_id", "fixture-project"},
                        {"private_key_id", "0123456789abcdef"},
                        {"private_key", private_pem},
                        {"client_email", email},
                        {"token_uri", token_uri}}
      .dump();
}

class GcsFixture {
 public:
  static constexpr const char* kEmail = "loader@fixture-project.iam.gserviceaccount.com";

  // `setup` fills the buckets under root() before the server starts.
  GcsFixture(std::vector<std::string> extra_args,
             const std::function<void(const std::filesystem::path&)>& setup) {
    key_ = generate_rsa_key();
    write_text(dir_ / "pub.pem", key_.public_pem);
    setup(root());
    std::vector<std::string> args = {"--root", root().string(), "--account",
                                     std::string(kEmail) + "=" + (dir_ / "pub.pem").string()};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    process_ =
        std::make_unique<FixtureProcess>(std::string(MC_FIXTURES_DIR) + "/gcs_fixture.py", args);
  }

  std::filesystem::path root() const { return dir_ / "buckets"; }
  bool ok() const { return process_->ok(); }
  std::string error() const { return process_->error(); }
  std::string url() const { return process_->url(); }
  const RsaKeyPem& key() const { return key_; }
  std::string account_json() const {
    return service_account_json(kEmail, key_.private_pem, url() + "/token");
  }

  modelcache::core::Config config() const {
    modelcache::core::Config c;
    c.gcs_endpoint = url();
    c.transfer.max_attempts = 2;
    c.transfer.backoff_base = std::chrono::milliseconds(10);
    return c;
  }

  nlohmann::json get_json(const std::string& path) const {
    modelcache::net::HttpClient client(config().transfer);
    auto r = client.send({.url = url() + path});
    if (!r || r->status != 200) {
      ADD_FAILURE() << "cannot GET " << path << " from the fixture";
      return {};
    }
    return nlohmann::json::parse(r->body);
  }
  int token_requests() const { return get_json("/__stats")["token_requests"].get<int>(); }
  nlohmann::json log() const { return get_json("/__log"); }
  void clear_log() const {
    modelcache::net::HttpClient client(config().transfer);
    auto r = client.send({.method = "DELETE", .url = url() + "/__log"});
    if (!r || r->status != 200) ADD_FAILURE() << "cannot clear the fixture log";
  }

 private:
  TempDir dir_;
  RsaKeyPem key_;
  std::unique_ptr<FixtureProcess> process_;
};

}  // namespace mctest
