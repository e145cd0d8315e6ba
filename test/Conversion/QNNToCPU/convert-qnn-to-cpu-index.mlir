// RUN: quant-opt %s --split-input-file --convert-qnn-to-cpu --cse | FileCheck %s

// Lowering of the shape/index ops: run-time ranges, triangles with a
// run-time k, and bounds-checked run-time indices.

// Tests that a range of run-time scalars has max(ceil((limit - start) /
// delta), 0) elements, each start + i * delta.
// CHECK-LABEL: func @range
// CHECK-SAME:    (%[[S:.*]]: tensor<i64>, %[[L:.*]]: tensor<i64>, %[[D:.*]]: tensor<i64>)
// CHECK-DAG:     %[[START:.*]] = tensor.extract %[[S]][]
// CHECK-DAG:     %[[LIMIT:.*]] = tensor.extract %[[L]][]
// CHECK-DAG:     %[[DELTA:.*]] = tensor.extract %[[D]][]
// CHECK:         %[[Q:.*]] = arith.divf
// CHECK:         %[[CEIL:.*]] = math.ceil %[[Q]] : f64
// CHECK:         %[[N:.*]] = arith.fptosi %[[CEIL]] : f64 to i64
// CHECK:         %[[NN:.*]] = arith.maxsi %[[N]]
// CHECK:         %[[SIZE:.*]] = arith.index_cast %[[NN]] : i64 to index
// CHECK:         %[[E:.*]] = tensor.empty(%[[SIZE]]) : tensor<?xi64>
// CHECK:         linalg.generic {{.*}} outs(%[[E]] : tensor<?xi64>)
// CHECK:           %[[I:.*]] = linalg.index 0
// CHECK:           %[[II:.*]] = arith.index_cast %[[I]] : index to i64
// CHECK:           %[[STEP:.*]] = arith.muli %[[II]], %[[DELTA]] : i64
// CHECK:           %[[V:.*]] = arith.addi %[[START]], %[[STEP]] : i64
// CHECK:           linalg.yield %[[V]]
func.func @range(%s: tensor<i64>, %l: tensor<i64>, %d: tensor<i64>) -> tensor<?xi64> {
  %0 = qnn.range %s, %l, %d : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  return %0 : tensor<?xi64>
}

// -----

// Tests that a lower triangle keeps x[i, j] where j - i <= k (k read at run
// time) and zeroes the rest.
// CHECK-LABEL: func @trilu_lower
// CHECK-SAME:    (%[[X:.*]]: tensor<?x?xf32>, %[[K:.*]]: tensor<i64>)
// CHECK:         %[[KV:.*]] = tensor.extract %[[K]][]
// CHECK:         %[[KI:.*]] = arith.index_cast %[[KV]] : i64 to index
// CHECK:         linalg.generic
// CHECK:           %[[I:.*]] = linalg.index 0
// CHECK:           %[[J:.*]] = linalg.index 1
// CHECK:           %[[DIFF:.*]] = arith.subi %[[J]], %[[I]] : index
// CHECK:           %[[KEEP:.*]] = arith.cmpi sle, %[[DIFF]], %[[KI]] : index
// CHECK:           %[[V:.*]] = tensor.extract %[[X]][%[[I]], %[[J]]]
// CHECK:           %[[R:.*]] = arith.select %[[KEEP]], %[[V]], %{{.*}} : f32
// CHECK:           linalg.yield %[[R]]
func.func @trilu_lower(%x: tensor<?x?xf32>, %k: tensor<i64>) -> tensor<?x?xf32> {
  %0 = qnn.trilu %x, %k {upper = false} : (tensor<?x?xf32>, tensor<i64>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// Tests that run-time gather_elements indices wrap when negative and are
// bounds-checked: out of range, the element is 0 and qk_report_error names
// the node.
// CHECK:       llvm.mlir.global internal constant @[[WHAT:.*]]("node '{{.*}}': GatherElements on axis 1\00")
// CHECK-LABEL: func @gather_elements
// CHECK-SAME:    (%[[X:.*]]: tensor<2x3xf32>, %[[IDX:.*]]: tensor<2x2xi64>)
// CHECK:         %[[DIM:.*]] = arith.constant 3 : index
// CHECK:         linalg.generic
// CHECK:           %[[I:.*]] = linalg.index 0
// CHECK:           %[[J:.*]] = linalg.index 1
// CHECK:           %[[RAW:.*]] = tensor.extract %[[IDX]][%[[I]], %[[J]]]
// CHECK:           %[[R:.*]] = arith.index_cast %[[RAW]] : i64 to index
// CHECK:           %[[NEG:.*]] = arith.cmpi slt, %[[R]]
// CHECK:           %[[WRAP:.*]] = arith.addi %[[R]], %[[DIM]]
// CHECK:           %[[N:.*]] = arith.select %[[NEG]], %[[WRAP]], %[[R]]
// CHECK:           %[[OK:.*]] = arith.cmpi ult, %[[N]], %[[DIM]]
// CHECK:           scf.if %[[OK]]
// CHECK:             tensor.extract %[[X]][%[[I]], %[[N]]]
// CHECK:           } else {
// CHECK:             %[[PTR:.*]] = llvm.mlir.addressof @[[WHAT]]
// CHECK:             func.call @qk_report_error({{.*}}, %[[PTR]])
func.func @gather_elements(%x: tensor<2x3xf32>, %i: tensor<2x2xi64>) -> tensor<2x2xf32> {
  %0 = qnn.gather_elements %x, %i {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x2xi64>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

// Tests that argmax with select_last_index carries the best value and its
// index through one reduction, replacing on ties (>=).
// CHECK-LABEL: func @argmax_last
// CHECK:         %[[R:.*]]:2 = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK:           %[[I:.*]] = linalg.index 1
// CHECK:           %[[II:.*]] = arith.index_cast %[[I]] : index to i64
// CHECK:           %[[BETTER:.*]] = arith.cmpf oge
// CHECK:           arith.select %[[BETTER]]
// CHECK:           arith.select %[[BETTER]], %[[II]]
// CHECK:         return {{.*}} : tensor<2x1xi64>
func.func @argmax_last(%x: tensor<2x5xf32>) -> tensor<2x1xi64> {
  %0 = qnn.argmax %x {axis = 1 : i64, select_last_index = true} : tensor<2x5xf32> -> tensor<2x1xi64>
  return %0 : tensor<2x1xi64>
}
