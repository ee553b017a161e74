package kafka

import (
	"fmt"
	"reflect"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/auth"
	"github.com/tributary-io/tributary/broker/cluster"
)

// Authorization: every served API has exactly one step in authzSteps (a test
// keeps the table complete). A step checks the resources its request touches
// with z.ok; a request touching one resource is answered with the resource's
// authorization error when denied, and a request touching several serves the
// permitted ones through the handler and adds the denied ones to the answer
// with the error, as Kafka does. Every denial is logged with the principal,
// operation and resource.

// Operation shorthands.
const (
	opRead            = kmsg.ACLOperationRead
	opWrite           = kmsg.ACLOperationWrite
	opCreate          = kmsg.ACLOperationCreate
	opDelete          = kmsg.ACLOperationDelete
	opAlter           = kmsg.ACLOperationAlter
	opDescribe        = kmsg.ACLOperationDescribe
	opClusterAction   = kmsg.ACLOperationClusterAction
	opDescribeConfigs = kmsg.ACLOperationDescribeConfigs
	opAlterConfigs    = kmsg.ACLOperationAlterConfigs
	opIdempotentWrite = kmsg.ACLOperationIdempotentWrite
)

// Authorization error codes by resource type.
var (
	topicDenied   = kerr.TopicAuthorizationFailed.Code
	groupDenied   = kerr.GroupAuthorizationFailed.Code
	clusterDenied = kerr.ClusterAuthorizationFailed.Code
	txnDenied     = kerr.TransactionalIDAuthorizationFailed.Code
)

// authzStep authorizes one request and serves what is permitted.
type authzStep func(z *authz) (kmsg.Response, error)

// authzSteps is the authorization table, next to apis(): key → step.
func authzSteps() map[int16]authzStep {
	return map[int16]authzStep{
		0:  authzProduce,
		1:  authzFetch,
		2:  authzListOffsets,
		3:  authzMetadata,
		8:  authzOffsetCommit,
		9:  authzOffsetFetch,
		10: authzFindCoordinator,
		11: groupStep(opRead, func(m kmsg.Request) string { return m.(*kmsg.JoinGroupRequest).Group }),
		12: groupStep(opRead, func(m kmsg.Request) string { return m.(*kmsg.HeartbeatRequest).Group }),
		13: groupStep(opRead, func(m kmsg.Request) string { return m.(*kmsg.LeaveGroupRequest).Group }),
		14: groupStep(opRead, func(m kmsg.Request) string { return m.(*kmsg.SyncGroupRequest).Group }),
		15: authzDescribeGroups,
		16: authzListGroups,
		// SASL and ApiVersions are never authorized (serveSecured skips them).
		17: authzNone,
		18: authzNone,
		36: authzNone,
		19: authzCreateTopics,
		20: authzDeleteTopics,
		21: authzDeleteRecords,
		22: authzInitProducerID,
		24: authzAddPartitionsToTxn,
		25: authzAddOffsetsToTxn,
		26: txnStep(func(m kmsg.Request) string { return m.(*kmsg.EndTxnRequest).TransactionalID }),
		// WriteTxnMarkers comes from another broker's transaction coordinator.
		27: clusterStep(opClusterAction),
		28: authzTxnOffsetCommit,
		29: clusterStep(opDescribe),
		30: clusterStep(opAlter),
		31: clusterStep(opAlter),
		32: authzDescribeConfigs,
		33: authzAlterConfigs,
		35: clusterStep(opDescribe),
		37: authzCreatePartitions,
		42: authzDeleteGroups,
		44: authzIncrementalAlterConfigs,
		47: authzOffsetDelete,
		50: clusterStep(opDescribe),
		51: clusterStep(opAlter),
		// DescribeCluster is open to any authenticated client, as in Kafka.
		60: authzNone,
		61: authzDescribeProducers,
		65: authzDescribeTransactions,
		66: authzListTransactions,
		// Replication and reassignment APIs (issue 6): consumers ask
		// OffsetForLeaderEpoch with DESCRIBE on the topic, followers with
		// CLUSTER_ACTION; leader elections and reassignments are cluster ALTER,
		// listing reassignments cluster DESCRIBE.
		23: authzOffsetForLeaderEpoch,
		43: clusterStep(opAlter),
		45: clusterStep(opAlter),
		46: clusterStep(opDescribe),
	}
}

// authz is one request's authorization context.
type authz struct {
	s   *Server
	d   decoded
	r   *Request
	sec *connSecurity
	// acls is the ACL set of the metadata snapshot at the request's start.
	acls *auth.ACLSet
	snap *cluster.Snapshot
}

// authorize runs the request's step.
func (s *Server) authorize(d decoded, sec *connSecurity) (kmsg.Response, error) {
	step := s.authz[d.req.Key]
	if step == nil {
		// apis() and authzSteps() disagree: refuse rather than serve unchecked.
		return nil, fmt.Errorf("%w: %s has no authorization step", ErrUnknownAPI, kmsg.NameForKey(d.req.Key))
	}
	snap := s.meta.Snapshot()
	return step(&authz{s: s, d: d, r: d.req, sec: sec, acls: snap.ACLs, snap: snap})
}

// ok reports whether the connection's principal may do op on res, logging a denial.
func (z *authz) ok(op kmsg.ACLOperation, res auth.Resource) bool {
	if z.s.cfg.Security.Authorizer.Authorize(z.acls, z.sec.principal, z.sec.host, op, res) {
		return true
	}
	z.s.logger.Info("authorization denied", "principal", z.sec.principal.String(), "operation", op.String(),
		"resource", res.String(), "api", kmsg.NameForKey(z.r.Key), "remote", z.r.Conn.RemoteAddr)
	return false
}

// quiet is ok without the log line, for listings that silently leave out
// what the principal may not see (Metadata of all topics, ListGroups).
func (z *authz) quiet(op kmsg.ACLOperation, res auth.Resource) bool {
	return z.s.cfg.Security.Authorizer.Authorize(z.acls, z.sec.principal, z.sec.host, op, res)
}

// serve runs the handler on the (possibly filtered) request.
func (z *authz) serve() (kmsg.Response, error) { return z.d.api.Serve(z.s, z.r) }

// empty returns the request's response kind with its defaults.
func (z *authz) empty() kmsg.Response {
	resp := z.r.Msg.ResponseKind()
	if d, ok := resp.(interface{ Default() }); ok {
		d.Default()
	}
	resp.SetVersion(z.r.Version)
	return resp
}

// deny answers the whole request with code in its top-level ErrorCode field.
func (z *authz) deny(code int16) (kmsg.Response, error) {
	resp := z.empty()
	f := reflect.ValueOf(resp).Elem().FieldByName("ErrorCode")
	if !f.IsValid() {
		return nil, fmt.Errorf("%w: %s has no top-level error code to deny with", errHandlerPanic, kmsg.NameForKey(z.r.Key))
	}
	f.SetInt(int64(code))
	return resp, nil
}

// topicName resolves a topic named by name or (newer versions) by id.
func (z *authz) topicName(name string, id [16]byte) string {
	if name != "" {
		return name
	}
	if t, ok := z.snap.TopicsByID[cluster.UUID(id)]; ok {
		return t.Name
	}
	return ""
}

func authzNone(z *authz) (kmsg.Response, error) { return z.serve() }

// clusterStep requires op on the cluster.
func clusterStep(op kmsg.ACLOperation) authzStep {
	return func(z *authz) (kmsg.Response, error) {
		if !z.ok(op, auth.Cluster()) {
			return z.denyCluster()
		}
		return z.serve()
	}
}

// denyCluster answers CLUSTER_AUTHORIZATION_FAILED, per entry for the
// responses that carry no top-level error.
func (z *authz) denyCluster() (kmsg.Response, error) {
	switch req := z.r.Msg.(type) {
	case *kmsg.CreateACLsRequest:
		resp := z.empty().(*kmsg.CreateACLsResponse)
		for range req.Creations {
			r := kmsg.NewCreateACLsResponseResult()
			r.ErrorCode = clusterDenied
			resp.Results = append(resp.Results, r)
		}
		return resp, nil
	case *kmsg.DeleteACLsRequest:
		resp := z.empty().(*kmsg.DeleteACLsResponse)
		for range req.Filters {
			r := kmsg.NewDeleteACLsResponseResult()
			r.ErrorCode = clusterDenied
			resp.Results = append(resp.Results, r)
		}
		return resp, nil
	case *kmsg.AlterUserSCRAMCredentialsRequest:
		resp := z.empty().(*kmsg.AlterUserSCRAMCredentialsResponse)
		seen := map[string]bool{}
		add := func(user string) {
			if !seen[user] {
				seen[user] = true
				r := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
				r.User, r.ErrorCode = user, clusterDenied
				resp.Results = append(resp.Results, r)
			}
		}
		for _, d := range req.Deletions {
			add(d.Name)
		}
		for _, u := range req.Upsertions {
			add(u.Name)
		}
		return resp, nil
	case *kmsg.WriteTxnMarkersRequest:
		resp := z.empty().(*kmsg.WriteTxnMarkersResponse)
		for _, m := range req.Markers {
			answerMarker(resp, m, func(int, int) int16 { return clusterDenied })
		}
		return resp, nil
	case *kmsg.DescribeLogDirsRequest:
		resp := z.empty().(*kmsg.DescribeLogDirsResponse)
		resp.ErrorCode = clusterDenied
		return resp, nil
	}
	return z.deny(clusterDenied)
}

// groupStep requires op on the group a single-group request names.
func groupStep(op kmsg.ACLOperation, group func(kmsg.Request) string) authzStep {
	return func(z *authz) (kmsg.Response, error) {
		if !z.ok(op, auth.Group(group(z.r.Msg))) {
			return z.deny(groupDenied)
		}
		return z.serve()
	}
}

// txnStep requires WRITE on the transactional id a request names.
func txnStep(id func(kmsg.Request) string) authzStep {
	return func(z *authz) (kmsg.Response, error) {
		if !z.ok(opWrite, auth.TransactionalID(id(z.r.Msg))) {
			return z.deny(txnDenied)
		}
		return z.serve()
	}
}
