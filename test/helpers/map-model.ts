/** The Map way of forgetting the oldest entry: the model the FIFO records are checked against (correct, but slow on a Map with holes). */
export function shiftModel<K, V>(model: Map<K, V>): V | undefined {
  const first = model.entries().next();
  if (first.done) return undefined;
  model.delete(first.value[0]);
  return first.value[1];
}
