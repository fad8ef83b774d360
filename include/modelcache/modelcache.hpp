#pragma once
#include "modelcache/cache.hpp"
#include "modelcache/error.hpp"
#include "modelcache/prefetch.hpp"
#include "modelcache/safetensors.hpp"
