package e2e

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// moreMatrixCases are the APIs matrixCases leaves out: produce, the rest of
// the group protocol, the leader-epoch query, the legacy AlterConfigs, and
// the cluster APIs of replication, ACLs and SCRAM users. The granted
// principal also holds CLUSTER_ACTION for WriteTxnMarkers.
func moreMatrixCases(topicID [16]byte) []matrixCase {
	const topic, group = "m-topic", "m-group"
	return []matrixCase{
		{"Produce/topic", kerr.TopicAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrProduceRequest()
			r.Acks, r.TimeoutMillis = 1, 5000
			t := kmsg.NewProduceRequestTopic()
			t.Topic, t.TopicID = topic, topicID // v13 names topics by id
			t.Partitions = append(t.Partitions, kmsg.NewProduceRequestTopicPartition())
			r.Topics = append(r.Topics, t)
			return r
		}, func(r kmsg.Response) int16 {
			return authOnly(r.(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode)
		}},
		{"OffsetForLeaderEpoch/topic", kerr.TopicAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrOffsetForLeaderEpochRequest()
			r.ReplicaID = -1 // a consumer: DESCRIBE on the topic
			t := kmsg.NewOffsetForLeaderEpochRequestTopic()
			t.Topic = topic
			p := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
			p.CurrentLeaderEpoch = -1
			t.Partitions = append(t.Partitions, p)
			r.Topics = append(r.Topics, t)
			return r
		}, func(r kmsg.Response) int16 {
			return authOnly(r.(*kmsg.OffsetForLeaderEpochResponse).Topics[0].Partitions[0].ErrorCode)
		}},
		{"SyncGroup/group", kerr.GroupAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrSyncGroupRequest()
			r.Group, r.Generation, r.MemberID = group, 1, "nobody"
			return r
		}, func(r kmsg.Response) int16 { return authOnly(r.(*kmsg.SyncGroupResponse).ErrorCode) }},
		{"LeaveGroup/group", kerr.GroupAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrLeaveGroupRequest()
			r.Group, r.MemberID = group, "nobody"
			m := kmsg.NewLeaveGroupRequestMember()
			m.MemberID = "nobody"
			r.Members = append(r.Members, m)
			return r
		}, func(r kmsg.Response) int16 { return authOnly(r.(*kmsg.LeaveGroupResponse).ErrorCode) }},
		{"AlterConfigs/topic", kerr.TopicAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrAlterConfigsRequest()
			res := kmsg.NewAlterConfigsRequestResource()
			res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, topic
			c := kmsg.NewAlterConfigsRequestResourceConfig()
			c.Name, c.Value = "retention.ms", str("3600000")
			res.Configs = append(res.Configs, c)
			r.Resources = append(r.Resources, res)
			r.ValidateOnly = true
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.AlterConfigsResponse).Resources[0].ErrorCode }},
		{"WriteTxnMarkers/cluster", kerr.ClusterAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrWriteTxnMarkersRequest()
			m := kmsg.NewWriteTxnMarkersRequestMarker()
			m.ProducerID, m.Committed = 999999, false
			t := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
			t.Topic, t.Partitions = topic, []int32{0}
			m.Topics = append(m.Topics, t)
			r.Markers = append(r.Markers, m)
			return r
		}, func(r kmsg.Response) int16 {
			return authOnly(r.(*kmsg.WriteTxnMarkersResponse).Markers[0].Topics[0].Partitions[0].ErrorCode)
		}},
		{"DeleteAcls/cluster", kerr.ClusterAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrDeleteACLsRequest()
			f := kmsg.NewDeleteACLsRequestFilter()
			f.ResourceType, f.ResourceName, f.ResourcePatternType = kmsg.ACLResourceTypeTopic, str("nothing"), kmsg.ACLResourcePatternTypeLiteral
			f.Principal, f.Host = str("User:nobody"), str("*")
			f.Operation, f.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
			r.Filters = append(r.Filters, f)
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.DeleteACLsResponse).Results[0].ErrorCode }},
		{"AlterUserScramCredentials/cluster", kerr.ClusterAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
			d := kmsg.NewAlterUserSCRAMCredentialsRequestDeletion()
			d.Name, d.Mechanism = "m-nobody", 1
			r.Deletions = append(r.Deletions, d)
			return r
		}, func(r kmsg.Response) int16 {
			return authOnly(r.(*kmsg.AlterUserSCRAMCredentialsResponse).Results[0].ErrorCode)
		}},
		{"ElectLeaders/cluster", kerr.ClusterAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrElectLeadersRequest()
			t := kmsg.NewElectLeadersRequestTopic()
			t.Topic, t.Partitions = topic, []int32{0}
			r.Topics = append(r.Topics, t)
			r.TimeoutMillis = 5000
			return r
		}, func(r kmsg.Response) int16 { return authOnly(r.(*kmsg.ElectLeadersResponse).ErrorCode) }},
		{"AlterPartitionAssignments/cluster", kerr.ClusterAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrAlterPartitionAssignmentsRequest()
			t := kmsg.NewAlterPartitionAssignmentsRequestTopic()
			t.Topic = topic
			p := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
			p.Replicas = []int32{1}
			t.Partitions = append(t.Partitions, p)
			r.Topics = append(r.Topics, t)
			r.TimeoutMillis = 5000
			return r
		}, func(r kmsg.Response) int16 {
			return authOnly(r.(*kmsg.AlterPartitionAssignmentsResponse).ErrorCode)
		}},
		{"ListPartitionReassignments/cluster", kerr.ClusterAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrListPartitionReassignmentsRequest()
			r.TimeoutMillis = 5000
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.ListPartitionReassignmentsResponse).ErrorCode }},
	}
}

// openAPIs are answered to any authenticated client, as in Kafka: the SASL
// exchange, ApiVersions and DescribeCluster.
var openAPIs = map[string]bool{"SASLHandshake": true, "ApiVersions": true, "SASLAuthenticate": true, "DescribeCluster": true}

// filteredAPIs answer everyone but list only what the principal may
// describe; TestACLMatrix checks them by what each principal sees.
var filteredAPIs = []string{"Metadata", "ListGroups", "ListTransactions"}

// checkMatrixCoversBroker fails for any API the broker advertises that
// is neither in the matrix, nor filtered, nor open to everyone.
func checkMatrixCoversBroker(t *testing.T, cl *kgo.Client, cases []matrixCase) {
	t.Helper()
	resp, err := cl.Request(testCtx(t), kmsg.NewPtrApiVersionsRequest())
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, c := range cases {
		api, _, _ := strings.Cut(c.name, "/")
		covered[strings.ToLower(api)] = true
	}
	for _, f := range filteredAPIs {
		covered[strings.ToLower(f)] = true
	}
	for _, k := range resp.(*kmsg.ApiVersionsResponse).ApiKeys {
		name := kmsg.NameForKey(k.ApiKey)
		if !openAPIs[name] && !covered[strings.ToLower(name)] {
			t.Errorf("the broker serves %s (key %d), which the ACL matrix does not check", name, k.ApiKey)
		}
	}
}

// checkFilteredAPIs: ListGroups and ListTransactions answer both principals
// but list only the groups and transactional ids each may describe.
func checkFilteredAPIs(t *testing.T, adm *kadm.Client, granted, denied *kgo.Client) {
	var offs kadm.Offsets
	offs.Add(kadm.Offset{Topic: "m-topic", Partition: 0, At: 0, LeaderEpoch: -1})
	if _, err := adm.CommitOffsets(testCtx(t), "m-group", offs); err != nil {
		t.Fatal(err)
	}
	groups := func(cl *kgo.Client) []string {
		resp, err := cl.Request(testCtx(t), kmsg.NewPtrListGroupsRequest())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, g := range resp.(*kmsg.ListGroupsResponse).Groups {
			out = append(out, g.Group)
		}
		return out
	}
	if got := groups(granted); len(got) != 1 || got[0] != "m-group" {
		t.Errorf("ListGroups for the granted principal: %q, want [m-group]", got)
	}
	if got := groups(denied); len(got) != 0 {
		t.Errorf("ListGroups for the denied principal: %q, want none", got)
	}
	txns := func(cl *kgo.Client) []string {
		resp, err := cl.Request(testCtx(t), kmsg.NewPtrListTransactionsRequest())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range resp.(*kmsg.ListTransactionsResponse).TransactionStates {
			out = append(out, s.TransactionalID)
		}
		return out
	}
	// The matrix's InitProducerId made transactional id m-txn.
	if got := txns(granted); len(got) != 1 || got[0] != "m-txn" {
		t.Errorf("ListTransactions for the granted principal: %q, want [m-txn]", got)
	}
	if got := txns(denied); len(got) != 0 {
		t.Errorf("ListTransactions for the denied principal: %q, want none", got)
	}
}
