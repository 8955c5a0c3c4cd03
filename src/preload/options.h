#include "../common/options.h"
