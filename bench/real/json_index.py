# bench/real/json_index.py: a Python workload for bench/run.sh. It builds 60,000 JSON documents,
# parses them again and indexes them by tag. Most of its objects come from pymalloc's arenas;
# strings and lists over 512 bytes go to malloc. Deterministic: it prints the same
# line, `result|...`, on every run.
import json, random
random.seed(7)
docs = []
for i in range(60000):
    d = {"id": i, "name": "user%d" % i, "tags": [random.choice("abcdefgh") * random.randint(1, 40) for _ in range(5)],
         "score": random.random(), "blob": "x" * random.randint(100, 3000)}
    docs.append(json.dumps(d))
total = 0
index = {}
for s in docs:
    d = json.loads(s)
    index.setdefault(d["tags"][0], []).append(d)
    total += len(d["blob"])
print("result|%d|%d" % (len(index), total))
