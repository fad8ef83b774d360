// libcurl is loaded on first use (dlopen), not at process start.
//
// Why: Debian's libcurl drags in ~30 shared libraries (gnutls, krb5, ldap, ssh2,
// rtmp, ...). Mapping and relocating them costs ~6 ms on every start, which is
// most of a warm `modelcache pull` that never touches the network. So the binary
// does not link libcurl; this file defines the libcurl functions modelcache uses
// and forwards each to the real one, resolved from libcurl.so.4 the first time
// any of them is called.
//
// The variadic setters/getters are forwarded by their documented argument kind:
// the option number says whether the one argument is a long, a pointer, a
// function pointer or a curl_off_t (CURLOPTTYPE_*), and every getinfo argument
// is a pointer.
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace {

struct CurlApi {
  void* handle = nullptr;
  const char* load_error = nullptr;
#define MC_CURL_FN(ret, name, params) ret(*name) params = nullptr;
  MC_CURL_FN(CURLcode, global_init, (long))
  MC_CURL_FN(CURL*, easy_init, (void))
  MC_CURL_FN(CURLcode, easy_setopt, (CURL*, CURLoption, ...))
  MC_CURL_FN(CURLcode, easy_getinfo, (CURL*, CURLINFO, ...))
  MC_CURL_FN(CURLcode, easy_perform, (CURL*))
  MC_CURL_FN(void, easy_cleanup, (CURL*))
  MC_CURL_FN(const char*, easy_strerror, (CURLcode))
  MC_CURL_FN(curl_slist*, slist_append, (curl_slist*, const char*))
  MC_CURL_FN(void, slist_free_all, (curl_slist*))
  MC_CURL_FN(CURLM*, multi_init, (void))
  MC_CURL_FN(CURLMcode, multi_setopt, (CURLM*, CURLMoption, ...))
  MC_CURL_FN(CURLMcode, multi_add_handle, (CURLM*, CURL*))
  MC_CURL_FN(CURLMcode, multi_remove_handle, (CURLM*, CURL*))
  MC_CURL_FN(CURLMcode, multi_perform, (CURLM*, int*))
  MC_CURL_FN(CURLMcode, multi_poll, (CURLM*, curl_waitfd*, unsigned, int, int*))
  MC_CURL_FN(CURLMcode, multi_wakeup, (CURLM*))
  MC_CURL_FN(CURLMsg*, multi_info_read, (CURLM*, int*))
  MC_CURL_FN(CURLMcode, multi_cleanup, (CURLM*))
#undef MC_CURL_FN
};

template <class F>
bool bind(void* handle, F& fn, const char* symbol) {
  fn = reinterpret_cast<F>(::dlsym(handle, symbol));
  return fn != nullptr;
}

const CurlApi& api() {
  static CurlApi a;
  static std::once_flag once;
  std::call_once(once, [] {
    a.handle = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!a.handle) {
      a.load_error = "cannot load libcurl.so.4 (install the libcurl4 package)";
      std::fprintf(stderr, "modelcache: error: %s: %s\n", a.load_error, ::dlerror());
      return;
    }
    bool ok = bind(a.handle, a.global_init, "curl_global_init") &&
              bind(a.handle, a.easy_init, "curl_easy_init") &&
              bind(a.handle, a.easy_setopt, "curl_easy_setopt") &&
              bind(a.handle, a.easy_getinfo, "curl_easy_getinfo") &&
              bind(a.handle, a.easy_perform, "curl_easy_perform") &&
              bind(a.handle, a.easy_cleanup, "curl_easy_cleanup") &&
              bind(a.handle, a.easy_strerror, "curl_easy_strerror") &&
              bind(a.handle, a.slist_append, "curl_slist_append") &&
              bind(a.handle, a.slist_free_all, "curl_slist_free_all") &&
              bind(a.handle, a.multi_init, "curl_multi_init") &&
              bind(a.handle, a.multi_setopt, "curl_multi_setopt") &&
              bind(a.handle, a.multi_add_handle, "curl_multi_add_handle") &&
              bind(a.handle, a.multi_remove_handle, "curl_multi_remove_handle") &&
              bind(a.handle, a.multi_perform, "curl_multi_perform") &&
              bind(a.handle, a.multi_poll, "curl_multi_poll") &&
              bind(a.handle, a.multi_wakeup, "curl_multi_wakeup") &&
              bind(a.handle, a.multi_info_read, "curl_multi_info_read") &&
              bind(a.handle, a.multi_cleanup, "curl_multi_cleanup");
    if (!ok) {
      a.load_error = "libcurl.so.4 is older than 7.68 (curl_multi_poll/wakeup missing)";
      std::fprintf(stderr, "modelcache: error: %s\n", a.load_error);
      ::dlclose(a.handle);
      a.handle = nullptr;
    }
  });
  return a;
}

bool loaded() { return api().handle != nullptr; }

// One option argument, read with its documented type and passed on unchanged.
template <class Setter, class Handle, class Option>
auto forward_option(Setter setter, Handle h, Option option, va_list ap) {
  const long kind = (static_cast<long>(option) / 10000) * 10000;
  switch (kind) {
    case CURLOPTTYPE_LONG: return setter(h, option, va_arg(ap, long));
    case CURLOPTTYPE_OFF_T: return setter(h, option, va_arg(ap, curl_off_t));
    case CURLOPTTYPE_FUNCTIONPOINT: return setter(h, option, va_arg(ap, void (*)(void)));
    default: return setter(h, option, va_arg(ap, void*));  // object pointers, strings, blobs
  }
}

}  // namespace

extern "C" {

CURLcode curl_global_init(long flags) {
  return loaded() ? api().global_init(flags) : CURLE_FAILED_INIT;
}
CURL* curl_easy_init(void) { return loaded() ? api().easy_init() : nullptr; }
CURLcode curl_easy_setopt(CURL* curl, CURLoption option, ...) {
  if (!loaded()) return CURLE_FAILED_INIT;
  va_list ap;
  va_start(ap, option);
  CURLcode rc = forward_option(api().easy_setopt, curl, option, ap);
  va_end(ap);
  return rc;
}
CURLcode curl_easy_getinfo(CURL* curl, CURLINFO info, ...) {
  if (!loaded()) return CURLE_FAILED_INIT;
  va_list ap;
  va_start(ap, info);
  void* out = va_arg(ap, void*);  // every CURLINFO_* argument is a pointer
  va_end(ap);
  return api().easy_getinfo(curl, info, out);
}
CURLcode curl_easy_perform(CURL* curl) { return loaded() ? api().easy_perform(curl) : CURLE_FAILED_INIT; }
void curl_easy_cleanup(CURL* curl) {
  if (loaded()) api().easy_cleanup(curl);
}
const char* curl_easy_strerror(CURLcode code) {
  return loaded() ? api().easy_strerror(code) : api().load_error;
}
curl_slist* curl_slist_append(curl_slist* list, const char* s) {
  return loaded() ? api().slist_append(list, s) : nullptr;
}
void curl_slist_free_all(curl_slist* list) {
  if (loaded()) api().slist_free_all(list);
}
CURLM* curl_multi_init(void) { return loaded() ? api().multi_init() : nullptr; }
CURLMcode curl_multi_setopt(CURLM* multi, CURLMoption option, ...) {
  if (!loaded()) return CURLM_INTERNAL_ERROR;
  va_list ap;
  va_start(ap, option);
  CURLMcode rc = forward_option(api().multi_setopt, multi, option, ap);
  va_end(ap);
  return rc;
}
CURLMcode curl_multi_add_handle(CURLM* m, CURL* e) {
  return loaded() ? api().multi_add_handle(m, e) : CURLM_INTERNAL_ERROR;
}
CURLMcode curl_multi_remove_handle(CURLM* m, CURL* e) {
  return loaded() ? api().multi_remove_handle(m, e) : CURLM_INTERNAL_ERROR;
}
CURLMcode curl_multi_perform(CURLM* m, int* running) {
  return loaded() ? api().multi_perform(m, running) : CURLM_INTERNAL_ERROR;
}
CURLMcode curl_multi_poll(CURLM* m, curl_waitfd* fds, unsigned n, int timeout_ms, int* numfds) {
  return loaded() ? api().multi_poll(m, fds, n, timeout_ms, numfds) : CURLM_INTERNAL_ERROR;
}
CURLMcode curl_multi_wakeup(CURLM* m) { return loaded() ? api().multi_wakeup(m) : CURLM_INTERNAL_ERROR; }
CURLMsg* curl_multi_info_read(CURLM* m, int* left) {
  return loaded() ? api().multi_info_read(m, left) : nullptr;
}
CURLMcode curl_multi_cleanup(CURLM* m) { return loaded() ? api().multi_cleanup(m) : CURLM_INTERNAL_ERROR; }

}  // extern "C"
