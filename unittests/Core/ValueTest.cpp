//===- ValueTest.cpp - Values and the conversions of isa.md §2.1 ----------===//

#include "fusevm/Core/Value.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>

using namespace fusevm;

static std::string fmt(double D) {
  char Buf[40];
  return std::string(Buf, formatFloat(D, Buf));
}

TEST(FloatPrint, SpecialValues) {
  EXPECT_EQ(fmt(INFINITY), "inf");
  EXPECT_EQ(fmt(-INFINITY), "-inf");
  EXPECT_EQ(fmt(std::nan("")), "nan");
  EXPECT_EQ(fmt(-std::nan("")), "nan");
  EXPECT_EQ(fmt(0.0), "0");
  EXPECT_EQ(fmt(-0.0), "-0");
}

TEST(FloatPrint, EcmaScriptRules) {
  // k <= n <= 21: digits then zeros.
  EXPECT_EQ(fmt(1e20), "100000000000000000000");
  EXPECT_EQ(fmt(100000.0), "100000");
  EXPECT_EQ(fmt(18446744073709551616.0), "18446744073709552000");
  // 0 < n <= 21: a point inside the digits.
  EXPECT_EQ(fmt(3.25), "3.25");
  EXPECT_EQ(fmt(123456.5), "123456.5");
  // -6 < n <= 0.
  EXPECT_EQ(fmt(0.000001), "0.000001");
  EXPECT_EQ(fmt(0.1), "0.1");
  // Scientific otherwise.
  EXPECT_EQ(fmt(1e21), "1e+21");
  EXPECT_EQ(fmt(1.5e-7), "1.5e-7");
  EXPECT_EQ(fmt(1e-7), "1e-7");
  EXPECT_EQ(fmt(5e-324), "5e-324");
  EXPECT_EQ(fmt(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(fmt(-2e10), "-20000000000");
  EXPECT_EQ(fmt(0.1 + 0.2), "0.30000000000000004");
}

TEST(FloatPrint, ShortestDigitsReadBack) {
  std::mt19937_64 R(42);
  for (int I = 0; I < 20000; ++I) {
    uint64_t Bits = R();
    double D;
    std::memcpy(&D, &Bits, 8);
    if (std::isnan(D) || std::isinf(D))
      continue;
    std::string S = fmt(D);
    EXPECT_EQ(std::strtod(S.c_str(), nullptr), D) << S;
  }
}

static Value num(const char *S) { return parseNumber(S); }

TEST(Num, StringForms) {
  EXPECT_TRUE(num("42").isInt());
  EXPECT_EQ(num("  -17  ").I, -17);
  EXPECT_EQ(num("+8").I, 8);
  EXPECT_EQ(num(" 0012 ").I, 12);
  EXPECT_EQ(num("-0").I, 0);
  EXPECT_TRUE(num("-0").isInt());
  EXPECT_EQ(num("9223372036854775807").I, INT64_MAX);
  EXPECT_EQ(num("-9223372036854775808").I, INT64_MIN);
  Value Big = num("9223372036854775808");
  ASSERT_TRUE(Big.isFloat());
  EXPECT_EQ(Big.F, 9223372036854775808.0);
  EXPECT_DOUBLE_EQ(num("\t 3.25\n").F, 3.25);
  EXPECT_EQ(num("1e3").F, 1000.0);
  EXPECT_EQ(num(".5").F, 0.5);
  EXPECT_EQ(num("7.").F, 7.0);
  EXPECT_EQ(num("-2.5E-3").F, -0.0025);
  EXPECT_TRUE(std::isinf(num("1e999").F));
  EXPECT_EQ(num("inf").F, INFINITY);
  EXPECT_EQ(num("-Infinity").F, -INFINITY);
  EXPECT_TRUE(std::isnan(num("NaN").F));
  for (const char *Zero : {"12abc", "abc", "", "0x1F", "1 2", ".", "1e", "+-1",
                           "1_000", "   ", "e5", "--1", "inf inity"}) {
    Value V = num(Zero);
    EXPECT_TRUE(V.isInt()) << Zero;
    EXPECT_EQ(V.I, 0) << Zero;
  }
}

TEST(Conversions, Truthy) {
  EXPECT_FALSE(truthy(Value()));
  EXPECT_TRUE(truthy(Value::boolean(true)));
  EXPECT_FALSE(truthy(Value::integer(0)));
  EXPECT_TRUE(truthy(Value::integer(-3)));
  EXPECT_FALSE(truthy(Value::floating(-0.0)));
  EXPECT_TRUE(truthy(Value::floating(std::nan(""))));
  EXPECT_FALSE(truthy(Value::string("")));
  EXPECT_FALSE(truthy(Value::string("0")));
  EXPECT_TRUE(truthy(Value::string("0.0")));
  EXPECT_TRUE(truthy(Value::string("00")));
  EXPECT_FALSE(truthy(Value::emptyArray()));
  EXPECT_FALSE(truthy(Value::emptyHash()));
  EXPECT_TRUE(truthy(Value::status(0)));
  EXPECT_FALSE(truthy(Value::status(3)));
}

TEST(Conversions, ToIntSaturates) {
  EXPECT_EQ(toInt(Value::floating(3.9)), 3);
  EXPECT_EQ(toInt(Value::floating(-3.9)), -3);
  EXPECT_EQ(toInt(Value::floating(std::nan(""))), 0);
  EXPECT_EQ(toInt(Value::floating(INFINITY)), INT64_MAX);
  EXPECT_EQ(toInt(Value::floating(-INFINITY)), INT64_MIN);
  EXPECT_EQ(toInt(Value::floating(9223372036854775808.0)), INT64_MAX);
  EXPECT_EQ(toInt(Value::floating(-9223372036854775808.0)), INT64_MIN);
  EXPECT_EQ(toInt(Value::string("3.9")), 3);
  EXPECT_EQ(toFloat(Value::integer(9007199254740993)), 9007199254740992.0);
}

TEST(Conversions, ToStr) {
  Value A = Value::emptyArray();
  A.array()->Items.push_back(Value::integer(1));
  A.array()->Items.push_back(Value());
  A.array()->Items.push_back(Value::string("x"));
  EXPECT_EQ(toStdString(A), "1  x");
  Value H = Value::emptyHash();
  H.hash()->set(StrObj::make("k"), A);
  H.hash()->set(StrObj::make("b"), Value::boolean(false));
  EXPECT_EQ(toStdString(H), "k=1  x b=");
  EXPECT_EQ(toStdString(Value::status(-5)), "-5");
  EXPECT_EQ(toStdString(Value::boolean(true)), "1");
  std::string Out;
  EXPECT_FALSE(appendStr(Out, A, 2)); // over the limit
}

TEST(Hash, InsertionOrderAndUpdates) {
  Value H = Value::emptyHash();
  HashObj *O = H.hash();
  for (const char *K : {"a", "b", "c"})
    O->set(StrObj::make(K), Value::integer(K[0]));
  O->remove("b", hashBytes("b", 1));
  O->set(StrObj::make("b"), Value::integer(4));
  O->set(StrObj::make("a"), Value::integer(9));
  EXPECT_EQ(toStdString(H), "a=9 c=99 b=4");
  EXPECT_EQ(O->size(), 3u);
}

TEST(Hash, MatchesAnOrderedModel) {
  // Random inserts/updates/deletes against a model that records order.
  std::mt19937 R(7);
  Value H = Value::emptyHash();
  std::vector<std::pair<std::string, int>> Model;
  for (int Step = 0; Step < 20000; ++Step) {
    std::string K = "k" + std::to_string(R() % 300);
    auto It = std::find_if(Model.begin(), Model.end(),
                           [&](auto &P) { return P.first == K; });
    if (R() % 3 == 0) {
      Value Got = H.mutableHash()->remove(K, hashBytes(K.data(), K.size()));
      if (It == Model.end()) {
        EXPECT_TRUE(Got.isUndef());
      } else {
        EXPECT_EQ(Got.I, It->second);
        Model.erase(It);
      }
    } else {
      int V = int(R() % 1000);
      H.mutableHash()->set(StrObj::make(K), Value::integer(V));
      if (It == Model.end())
        Model.push_back({K, V});
      else
        It->second = V;
    }
  }
  std::string Want;
  for (auto &[K, V] : Model)
    Want += (Want.empty() ? "" : " ") + K + "=" + std::to_string(V);
  EXPECT_EQ(toStdString(H), Want);
  for (auto &[K, V] : Model) {
    Value *Got = H.hash()->find(K, hashBytes(K.data(), K.size()));
    ASSERT_NE(Got, nullptr);
    EXPECT_EQ(Got->I, V);
  }
}

TEST(ValueSemantics, CopyOnWrite) {
  Value A = Value::emptyArray();
  A.array()->Items.push_back(Value::integer(1));
  Value B = A; // shared
  EXPECT_EQ(A.P, B.P);
  B.mutableArray()->Items.push_back(Value::integer(2));
  EXPECT_NE(A.P, B.P);
  EXPECT_EQ(toStdString(A), "1");
  EXPECT_EQ(toStdString(B), "1 2");
  Value H = Value::emptyHash();
  H.hash()->set(StrObj::make("x"), Value::integer(1));
  Value G = H;
  G.mutableHash()->set(StrObj::make("y"), Value::integer(2));
  EXPECT_EQ(toStdString(H), "x=1");
  EXPECT_EQ(toStdString(G), "x=1 y=2");
}

TEST(ValueSemantics, DeepNestingNeedsNoNativeStack) {
  // A million nested arrays: to_str and destruction must not recurse.
  Value V = Value::emptyArray();
  for (int I = 0; I < 1000000; ++I) {
    Value Outer = Value::emptyArray();
    Outer.array()->Items.push_back(std::move(V));
    V = std::move(Outer);
  }
  V.array()->Items.push_back(Value::integer(7));
  std::string S;
  EXPECT_TRUE(appendStr(S, V, SIZE_MAX));
  EXPECT_EQ(S, " 7");
  V = Value(); // frees a million objects iteratively
}
