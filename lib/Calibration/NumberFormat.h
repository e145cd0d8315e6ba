//===- NumberFormat.h - Shortest round-trip decimal for doubles -*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Tables and messages print doubles in the shortest decimal that reads back
// as the same double: 99.999 rather than 99.998999999999995 (what a fixed
// 17 digits gives), and never a rounded 2.00 that hides a difference.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_LIB_CALIBRATION_NUMBERFORMAT_H
#define QUANTOPT_LIB_CALIBRATION_NUMBERFORMAT_H

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace quantopt::calibration {

/// The shortest decimal (fewest significant digits) that strtod maps back
/// to `value`, in fixed notation when the number has fewer than 17 integer
/// digits and is not tiny ("120", "0.001"), in exponent notation otherwise
/// ("1e+20", "4.9406564584124654e-324").
inline std::string formatShortest(double value) {
  char buffer[64];
  if (!std::isfinite(value)) {
    std::snprintf(buffer, sizeof(buffer), "%g", value); // "inf", "nan"
    return buffer;
  }
  auto roundTrips = [&] { return std::strtod(buffer, nullptr) == value; };
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buffer, sizeof(buffer), "%.*e", digits - 1, value);
    if (!roundTrips())
      continue;
    int exponent = std::atoi(std::strchr(buffer, 'e') + 1);
    // %g picks fixed notation when -4 <= exponent < precision; widen the
    // precision to the integer digits so that 120 does not print as 1.2e+02.
    int precision = digits;
    if (exponent >= digits && exponent < 17)
      precision = exponent + 1;
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    if (roundTrips())
      return buffer;
    break;
  }
  std::snprintf(buffer, sizeof(buffer), "%.17g", value);
  return buffer;
}

} // namespace quantopt::calibration

#endif // QUANTOPT_LIB_CALIBRATION_NUMBERFORMAT_H
