# A SPIFFE Workload API client built on Debian's python3-grpcio, with stubs that grpc_tools.protoc
# generated from proto/workload.proto (a second gRPC implementation, so the agent's wire format is
# not only checked against vouch's own client). Usage:
#   python3 python-workload-client.py <stubs dir> <socket path>
# Prints one JSON object with what it fetched (bytes as hex) and the status of a call without the
# security header.
import json
import sys

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
import workload_pb2  # noqa: E402
import workload_pb2_grpc  # noqa: E402

channel = grpc.insecure_channel("unix://" + sys.argv[2])
stub = workload_pb2_grpc.SpiffeWorkloadAPIStub(channel)
md = [("workload.spiffe.io", "true")]
out = {}

x509 = next(stub.FetchX509SVID(workload_pb2.X509SVIDRequest(), metadata=md, timeout=10))
out["x509"] = [
    {"spiffe_id": s.spiffe_id, "x509_svid": s.x509_svid.hex(), "x509_svid_key": s.x509_svid_key.hex(), "bundle": s.bundle.hex()}
    for s in x509.svids
]
out["federated"] = sorted(x509.federated_bundles.keys())

bundles = next(stub.FetchX509Bundles(workload_pb2.X509BundlesRequest(), metadata=md, timeout=10))
out["x509_bundles"] = {k: v.hex() for k, v in bundles.bundles.items()}

jwt_bundles = next(stub.FetchJWTBundles(workload_pb2.JWTBundlesRequest(), metadata=md, timeout=10))
out["jwt_bundles"] = {k: v.decode() for k, v in jwt_bundles.bundles.items()}

jwt = stub.FetchJWTSVID(workload_pb2.JWTSVIDRequest(audience=["spiffe://example.org/db"]), metadata=md, timeout=10)
out["jwt"] = [{"spiffe_id": s.spiffe_id, "svid": s.svid} for s in jwt.svids]

valid = stub.ValidateJWTSVID(
    workload_pb2.ValidateJWTSVIDRequest(audience="spiffe://example.org/db", svid=jwt.svids[0].svid), metadata=md, timeout=10
)
out["validated"] = {"spiffe_id": valid.spiffe_id, "sub": valid.claims["sub"], "aud": list(valid.claims["aud"])}

try:
    next(stub.FetchX509SVID(workload_pb2.X509SVIDRequest(), timeout=10))
    out["no_header"] = "OK"
except grpc.RpcError as e:
    out["no_header"] = {"code": e.code().name, "details": e.details()}

print(json.dumps(out))
