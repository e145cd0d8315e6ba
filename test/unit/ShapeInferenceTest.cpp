//===- ShapeInferenceTest.cpp - Result type inference of qnn ops ----------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Expected shapes follow numpy (np.matmul, np.broadcast_shapes, basic slicing)
// and the ONNX operator specification; they are written out here rather than
// taken from the code under test.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Dialect/QNN/IR/QNNOps.h"
#include "quantopt/Pipelines/Pipelines.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"

#include "gtest/gtest.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

namespace {

constexpr int64_t kDyn = ShapedType::kDynamic;

class ShapeInferenceTest : public ::testing::Test {
protected:
  ShapeInferenceTest() {
    DialectRegistry registry;
    registerAllDialects(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
    module = ModuleOp::create(UnknownLoc::get(&context));
    builder.setInsertionPointToEnd(module->getBody());
  }

  /// A value of the given type (a function argument).
  Value arg(ArrayRef<int64_t> shape, Type elementType = {}) {
    if (!elementType)
      elementType = builder.getF32Type();
    Type type = RankedTensorType::get(shape, elementType);
    auto func = func::FuncOp::create(builder, builder.getUnknownLoc(),
                                     "f" + std::to_string(counter++),
                                     builder.getFunctionType({type}, {}));
    Block *block = func.addEntryBlock();
    builder.setInsertionPointToStart(block);
    return block->getArgument(0);
  }

  Value constI64(ArrayRef<int64_t> values) {
    auto type =
        RankedTensorType::get({(int64_t)values.size()}, builder.getI64Type());
    return ConstantOp::create(builder, builder.getUnknownLoc(),
                              DenseIntElementsAttr::get(type, values));
  }

  static SmallVector<int64_t> shapeOf(Value v) {
    return SmallVector<int64_t>(cast<RankedTensorType>(v.getType()).getShape());
  }

  MLIRContext context;
  OpBuilder builder{&context};
  OwningOpRef<ModuleOp> module;
  int counter = 0;
};

TEST_F(ShapeInferenceTest, MatMulBroadcastsBatchDims) {
  Value a = arg({2, 1, 3, 4});
  Value b = ConstantOp::create(
      builder, builder.getUnknownLoc(),
      DenseElementsAttr::get(
          RankedTensorType::get({5, 4, 6}, builder.getF32Type()), 0.0f));
  auto op = MatMulOp::create(builder, builder.getUnknownLoc(), a, b);
  // np.matmul(np.zeros((2,1,3,4)), np.zeros((5,4,6))).shape == (2, 5, 3, 6)
  EXPECT_EQ(shapeOf(op), (SmallVector<int64_t>{2, 5, 3, 6}));
}

TEST_F(ShapeInferenceTest, MatMulVectorOperandsDropTheirDim) {
  Value a = arg({4});
  auto bType = RankedTensorType::get({3, 4, 7}, builder.getF32Type());
  Value b = ConstantOp::create(builder, builder.getUnknownLoc(),
                               DenseElementsAttr::get(bType, 1.0f));
  auto op = MatMulOp::create(builder, builder.getUnknownLoc(), a, b);
  // np.matmul(np.zeros(4), np.zeros((3,4,7))).shape == (3, 7)
  EXPECT_EQ(shapeOf(op), (SmallVector<int64_t>{3, 7}));
}

TEST_F(ShapeInferenceTest, BroadcastKeepsDynamicDims) {
  Value a = arg({kDyn, 1, 8});
  Value b = ConstantOp::create(
      builder, builder.getUnknownLoc(),
      DenseElementsAttr::get(
          RankedTensorType::get({4, 1}, builder.getF32Type()), 0.0f));
  auto op = AddOp::create(builder, builder.getUnknownLoc(), a, b);
  EXPECT_EQ(shapeOf(op), (SmallVector<int64_t>{kDyn, 4, 8}));
}

TEST_F(ShapeInferenceTest, ReshapeCopiesZeroAndInfersMinusOne) {
  Value x = arg({2, 3, 4});
  auto op = ReshapeOp::create(builder, builder.getUnknownLoc(), x,
                              constI64({0, -1}), builder.getBoolAttr(false));
  // ONNX Reshape: 0 copies dim 0 (2), -1 takes the rest (12).
  EXPECT_EQ(shapeOf(op), (SmallVector<int64_t>{2, 12}));
}

TEST_F(ShapeInferenceTest, ReshapeWithPartlyConstantTarget) {
  Value x = arg({kDyn, kDyn, 32});
  Value shape = ShapeOp::create(builder, builder.getUnknownLoc(), x,
                                builder.getI64IntegerAttr(0), IntegerAttr());
  Value batchSeq =
      SliceOp::create(builder, builder.getUnknownLoc(), shape, constI64({0}),
                      constI64({2}), Value(), Value());
  Value target = ConcatOp::create(builder, builder.getUnknownLoc(),
                                  ValueRange{batchSeq, constI64({2, 16})},
                                  builder.getI64IntegerAttr(0));
  auto op = ReshapeOp::create(builder, builder.getUnknownLoc(), x, target,
                              builder.getBoolAttr(false));
  EXPECT_EQ(shapeOf(op), (SmallVector<int64_t>{kDyn, kDyn, 2, 16}));
}

TEST_F(ShapeInferenceTest, SliceNegativeStep) {
  Value x = arg({10, 6});
  auto op = SliceOp::create(builder, builder.getUnknownLoc(), x,
                            constI64({-1, 1}), constI64({-100, 1000}),
                            constI64({0, 1}), constI64({-3, 2}));
  // np.zeros((10,6))[-1:-100:-3, 1:1000:2].shape == (4, 3)
  EXPECT_EQ(shapeOf(op), (SmallVector<int64_t>{4, 3}));
}

TEST_F(ShapeInferenceTest, GatherInsertsIndexShape) {
  Value data = arg({5, 7, 3});
  auto indicesType = RankedTensorType::get({2, 4}, builder.getI64Type());
  Value indices =
      ConstantOp::create(builder, builder.getUnknownLoc(),
                         DenseIntElementsAttr::get(indicesType, 0L));
  auto op = GatherOp::create(builder, builder.getUnknownLoc(), data, indices,
                             builder.getI64IntegerAttr(1));
  // np.take(np.zeros((5,7,3)), np.zeros((2,4), int), axis=1).shape
  EXPECT_EQ(shapeOf(op), (SmallVector<int64_t>{5, 2, 4, 3}));
}

TEST_F(ShapeInferenceTest, InferenceErrorIsReportedNotFatal) {
  Value a = arg({2, 3});
  auto bType = RankedTensorType::get({5, 4}, builder.getF32Type());
  Value b = ConstantOp::create(builder, builder.getUnknownLoc(),
                               DenseElementsAttr::get(bType, 0.0f));
  SmallVector<Type> types;
  std::string message;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
    message = d.str();
    return success();
  });
  EXPECT_TRUE(failed(MatMulOp::inferReturnTypes(
      &context, builder.getUnknownLoc(), ValueRange{a, b},
      DictionaryAttr::get(&context), nullptr, {}, types)));
  EXPECT_NE(message.find("contraction dimensions differ"), std::string::npos)
      << message;
}

TEST(QNNUtilsTest, NormalizeAxis) {
  EXPECT_EQ(normalizeAxis(-1, 4), 3);
  EXPECT_EQ(normalizeAxis(0, 4), 0);
  EXPECT_FALSE(normalizeAxis(4, 4).has_value());
  EXPECT_FALSE(normalizeAxis(-5, 4).has_value());
}

TEST_F(ShapeInferenceTest, RefineTakesTheMoreStaticType) {
  Type f32 = builder.getF32Type();
  Type a = RankedTensorType::get({kDyn, 4}, f32);
  Type b = RankedTensorType::get({3, kDyn}, f32);
  EXPECT_EQ(refineTensorType(a, b), RankedTensorType::get({3, 4}, f32));
  EXPECT_EQ(refineTensorType(UnrankedTensorType::get(f32), b), b);
  EXPECT_FALSE(refineTensorType(RankedTensorType::get({2, 4}, f32), b));
  EXPECT_FALSE(
      refineTensorType(a, RankedTensorType::get({3, 4}, builder.getF16Type())));
}

} // namespace
