#!/usr/bin/env python3
"""A small leye client in Python, on stubs generated from proto/.

Registers an unemployed person (RegisterUnemployment), reads the case back
(GetCase) and prints its id and revision; then sends a command outside the
token's jurisdiction and prints how it was refused (status code, and the
google.rpc.ErrorInfo reason from the rich error details).

Needs grpcio, grpcio-status and the generated stubs (see README.md, "Python
client"):

    python -m grpc_tools.protoc -I proto --python_out=target/python-client \
        --grpc_python_out=target/python-client proto/leye/*/v1/*.proto
    python clients/python/leye_client.py --addr 127.0.0.1:50051 --token "$TOKEN"
"""

import argparse
import datetime
import os
import random
import sys
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def resident_id(area: str, birth: str, sequence: int) -> str:
    """A made-up, well-formed 18-character resident ID (GB 11643-1999)."""
    first17 = f"{area}{birth}{sequence:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(c) * w for c, w in zip(first17, weights))
    return first17 + "10X98765432"[total % 11]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addr", default="127.0.0.1:50051", help="leye's gRPC address (plain text, loopback)")
    parser.add_argument("--token", default=os.environ.get("TOKEN"), help="bearer token (default: $TOKEN)")
    parser.add_argument(
        "--stubs",
        default=os.path.join(REPO, "target", "python-client"),
        help="directory of the stubs generated from proto/ (default: target/python-client)",
    )
    args = parser.parse_args()
    if not args.token:
        parser.error("--token (or $TOKEN) is required: every RPC but health needs one")

    sys.path.insert(0, args.stubs)
    import grpc
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    from leye.common.v1 import common_pb2
    from leye.person.v1 import person_pb2, person_pb2_grpc

    metadata = [("authorization", f"Bearer {args.token}")]
    # Dates are Beijing time; a registration may be dated today or earlier.
    today = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=8)).date().isoformat()

    def registration(district: str, street: str, community: str) -> person_pb2.Registration:
        return person_pb2.Registration(
            # A random made-up person born 1990-03-15, so the script can run again.
            resident_id=resident_id("120111", "19900315", random.randrange(1, 999)),
            name="赵示例",
            hukou=person_pb2.Hukou(district_code=district, nature=person_pb2.HUKOU_NATURE_URBAN),
            residence=person_pb2.Residence(district_code=district, street_code=street, community_code=community),
            education=person_pb2.EDUCATION_BACHELOR,
        )

    with grpc.insecure_channel(args.addr) as channel:
        cases = person_pb2_grpc.PersonCaseServiceStub(channel)

        # Every command answers with its own <Rpc>Response; the CommandResult
        # (case id, revision, event ids, duplicate, global position) is its `result` field.
        registered = cases.RegisterUnemployment(
            person_pb2.RegisterUnemploymentRequest(
                context=common_pb2.CommandContext(command_id=str(uuid.uuid4())),
                effective_date=today,
                registration=registration("120111", "120111001", "120111001002"),
            ),
            metadata=metadata,
            timeout=10,
        )
        answer = cases.GetCase(
            person_pb2.GetCaseRequest(case_id=registered.result.case_id), metadata=metadata, timeout=10
        )
        print(f"case {answer.case.case_id} revision {answer.case.revision}")

        # Refused: the residence (Binhai, 120116) is outside the token's jurisdiction.
        try:
            cases.RegisterUnemployment(
                person_pb2.RegisterUnemploymentRequest(
                    context=common_pb2.CommandContext(command_id=str(uuid.uuid4())),
                    effective_date=today,
                    registration=registration("120116", "120116002", "120116002003"),
                ),
                metadata=metadata,
                timeout=10,
            )
            print("error: a registration outside the jurisdiction was accepted", file=sys.stderr)
            return 1
        except grpc.RpcError as err:
            reason = ""
            status = rpc_status.from_call(err)  # google.rpc.Status, None without rich details
            for detail in status.details if status else []:
                if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    detail.Unpack(info)
                    reason = info.reason
            print(f"refused {err.code().name} reason {reason or '-'}: {err.details()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
