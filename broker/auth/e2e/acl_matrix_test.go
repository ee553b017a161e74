package e2e

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/auth"
)

// matrixCase is one API touching one resource type.
type matrixCase struct {
	name string
	// denied is the authorization error a principal without the ACL gets.
	denied *kerr.Error
	req    func() kmsg.Request
	// code extracts the error code the case is about.
	code func(kmsg.Response) int16
}

func str(s string) *string { return &s }

// matrixCases covers every authorized API; the granted principal holds
// exactly the operations each needs on topics m-*, group m-group,
// transactional id m-txn and the cluster.
func matrixCases(topicID [16]byte) []matrixCase {
	const topic, group, txn = "m-topic", "m-group", "m-txn"
	return []matrixCase{
		{"Metadata/topic", kerr.TopicAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrMetadataRequest()
			t := kmsg.NewMetadataRequestTopic()
			t.Topic = str(topic)
			r.Topics = append(r.Topics, t)
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.MetadataResponse).Topics[0].ErrorCode }},
		{"Fetch/topic", kerr.TopicAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrFetchRequest()
			r.MaxBytes = 1 << 20
			t := kmsg.NewFetchRequestTopic()
			t.Topic, t.TopicID = topic, topicID
			p := kmsg.NewFetchRequestTopicPartition()
			p.PartitionMaxBytes = 1 << 20
			t.Partitions = append(t.Partitions, p)
			r.Topics = append(r.Topics, t)
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.FetchResponse).Topics[0].Partitions[0].ErrorCode }},
		{"ListOffsets/topic", kerr.TopicAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrListOffsetsRequest()
			t := kmsg.NewListOffsetsRequestTopic()
			t.Topic = topic
			p := kmsg.NewListOffsetsRequestTopicPartition()
			p.Timestamp = -1
			t.Partitions = append(t.Partitions, p)
			r.Topics = append(r.Topics, t)
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0].ErrorCode }},
		{"DescribeConfigs/topic", kerr.TopicAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrDescribeConfigsRequest()
			res := kmsg.NewDescribeConfigsRequestResource()
			res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, topic
			r.Resources = append(r.Resources, res)
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.DescribeConfigsResponse).Resources[0].ErrorCode }},
		{"IncrementalAlterConfigs/topic", kerr.TopicAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrIncrementalAlterConfigsRequest()
			res := kmsg.NewIncrementalAlterConfigsRequestResource()
			res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, topic
			c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
			c.Name, c.Value = "retention.ms", str("3600000")
			res.Configs = append(res.Configs, c)
			r.Resources = append(r.Resources, res)
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.IncrementalAlterConfigsResponse).Resources[0].ErrorCode }},
		{"CreatePartitions/topic", kerr.TopicAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrCreatePartitionsRequest()
			t := kmsg.NewCreatePartitionsRequestTopic()
			t.Topic, t.Count = topic, 2
			r.Topics = append(r.Topics, t)
			r.ValidateOnly = true
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.CreatePartitionsResponse).Topics[0].ErrorCode }},
		{"CreateTopics/topic", kerr.TopicAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrCreateTopicsRequest()
			t := kmsg.NewCreateTopicsRequestTopic()
			t.Topic, t.NumPartitions, t.ReplicationFactor = "m-new", 1, 1
			r.Topics = append(r.Topics, t)
			r.ValidateOnly = true
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode }},
		{"DeleteRecords/topic", kerr.TopicAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrDeleteRecordsRequest()
			t := kmsg.NewDeleteRecordsRequestTopic()
			t.Topic = topic
			p := kmsg.NewDeleteRecordsRequestTopicPartition()
			p.Offset = 0
			t.Partitions = append(t.Partitions, p)
			r.Topics = append(r.Topics, t)
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.DeleteRecordsResponse).Topics[0].Partitions[0].ErrorCode }},
		{"DescribeProducers/topic", kerr.TopicAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrDescribeProducersRequest()
			t := kmsg.NewDescribeProducersRequestTopic()
			t.Topic, t.Partitions = topic, []int32{0}
			r.Topics = append(r.Topics, t)
			return r
		}, func(r kmsg.Response) int16 {
			return r.(*kmsg.DescribeProducersResponse).Topics[0].Partitions[0].ErrorCode
		}},
		{"FindCoordinator/group", kerr.GroupAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrFindCoordinatorRequest()
			r.CoordinatorKey, r.CoordinatorKeys = group, []string{group}
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.FindCoordinatorResponse).Coordinators[0].ErrorCode }},
		{"OffsetCommit/group", kerr.GroupAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrOffsetCommitRequest()
			r.Group, r.Generation = group, -1
			t := kmsg.NewOffsetCommitRequestTopic()
			t.Topic = topic
			p := kmsg.NewOffsetCommitRequestTopicPartition()
			t.Partitions = append(t.Partitions, p)
			r.Topics = append(r.Topics, t)
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode }},
		{"OffsetFetch/group", kerr.GroupAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrOffsetFetchRequest()
			r.Group = group
			g := kmsg.NewOffsetFetchRequestGroup()
			g.Group = group
			r.Groups = append(r.Groups, g)
			return r
		}, func(r kmsg.Response) int16 {
			if resp := r.(*kmsg.OffsetFetchResponse); len(resp.Groups) > 0 {
				return resp.Groups[0].ErrorCode
			} else {
				return resp.ErrorCode
			}
		}},
		{"JoinGroup/group", kerr.GroupAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrJoinGroupRequest()
			r.Group, r.SessionTimeoutMillis, r.RebalanceTimeoutMillis, r.ProtocolType = group, 10000, 10000, "consumer"
			p := kmsg.NewJoinGroupRequestProtocol()
			p.Name = "range"
			r.Protocols = append(r.Protocols, p)
			return r
		}, func(r kmsg.Response) int16 {
			if c := r.(*kmsg.JoinGroupResponse).ErrorCode; c != kerr.MemberIDRequired.Code {
				return c
			}
			return 0 // the first step of a successful join
		}},
		{"Heartbeat/group", kerr.GroupAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrHeartbeatRequest()
			r.Group, r.MemberID = group, "nobody"
			return r
		}, func(r kmsg.Response) int16 { return authOnly(r.(*kmsg.HeartbeatResponse).ErrorCode) }},
		{"DescribeGroups/group", kerr.GroupAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrDescribeGroupsRequest()
			r.Groups = []string{group}
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.DescribeGroupsResponse).Groups[0].ErrorCode }},
		{"OffsetDelete/group", kerr.GroupAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrOffsetDeleteRequest()
			r.Group = group
			return r
		}, func(r kmsg.Response) int16 { return authOnly(r.(*kmsg.OffsetDeleteResponse).ErrorCode) }},
		{"DeleteGroups/group", kerr.GroupAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrDeleteGroupsRequest()
			r.Groups = []string{"m-other-group"}
			return r
		}, func(r kmsg.Response) int16 { return authOnly(r.(*kmsg.DeleteGroupsResponse).Groups[0].ErrorCode) }},
		{"FindCoordinator/transactional id", kerr.TransactionalIDAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrFindCoordinatorRequest()
			r.CoordinatorType, r.CoordinatorKey, r.CoordinatorKeys = 1, txn, []string{txn}
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.FindCoordinatorResponse).Coordinators[0].ErrorCode }},
		{"InitProducerId/transactional id", kerr.TransactionalIDAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrInitProducerIDRequest()
			r.TransactionalID, r.TransactionTimeoutMillis = str(txn), 10000
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.InitProducerIDResponse).ErrorCode }},
		{"AddPartitionsToTxn/transactional id", kerr.TransactionalIDAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrAddPartitionsToTxnRequest()
			r.TransactionalID, r.ProducerID = txn, 999999
			t := kmsg.NewAddPartitionsToTxnRequestTopic()
			t.Topic, t.Partitions = topic, []int32{0}
			r.Topics = append(r.Topics, t)
			return r
		}, func(r kmsg.Response) int16 {
			return authOnly(r.(*kmsg.AddPartitionsToTxnResponse).Topics[0].Partitions[0].ErrorCode)
		}},
		{"AddOffsetsToTxn/transactional id", kerr.TransactionalIDAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrAddOffsetsToTxnRequest()
			r.TransactionalID, r.ProducerID, r.Group = txn, 999999, group
			return r
		}, func(r kmsg.Response) int16 { return authOnly(r.(*kmsg.AddOffsetsToTxnResponse).ErrorCode) }},
		{"EndTxn/transactional id", kerr.TransactionalIDAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrEndTxnRequest()
			r.TransactionalID, r.ProducerID = txn, 999999
			return r
		}, func(r kmsg.Response) int16 { return authOnly(r.(*kmsg.EndTxnResponse).ErrorCode) }},
		{"TxnOffsetCommit/transactional id", kerr.TransactionalIDAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrTxnOffsetCommitRequest()
			r.TransactionalID, r.Group, r.ProducerID = txn, group, 999999
			t := kmsg.NewTxnOffsetCommitRequestTopic()
			t.Topic = topic
			t.Partitions = append(t.Partitions, kmsg.NewTxnOffsetCommitRequestTopicPartition())
			r.Topics = append(r.Topics, t)
			return r
		}, func(r kmsg.Response) int16 {
			return authOnly(r.(*kmsg.TxnOffsetCommitResponse).Topics[0].Partitions[0].ErrorCode)
		}},
		{"DescribeTransactions/transactional id", kerr.TransactionalIDAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrDescribeTransactionsRequest()
			r.TransactionalIDs = []string{txn}
			return r
		}, func(r kmsg.Response) int16 {
			return authOnly(r.(*kmsg.DescribeTransactionsResponse).TransactionStates[0].ErrorCode)
		}},
		{"DescribeConfigs/cluster", kerr.ClusterAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrDescribeConfigsRequest()
			res := kmsg.NewDescribeConfigsRequestResource()
			res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeBroker, "1"
			r.Resources = append(r.Resources, res)
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.DescribeConfigsResponse).Resources[0].ErrorCode }},
		{"DescribeAcls/cluster", kerr.ClusterAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrDescribeACLsRequest()
			r.ResourceType, r.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
			r.Operation, r.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.DescribeACLsResponse).ErrorCode }},
		{"CreateAcls/cluster", kerr.ClusterAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrCreateACLsRequest()
			c := kmsg.NewCreateACLsRequestCreation()
			c.ResourceType, c.ResourceName, c.ResourcePatternType = kmsg.ACLResourceTypeTopic, "x", kmsg.ACLResourcePatternTypeLiteral
			c.Principal, c.Host, c.Operation, c.PermissionType = "User:x", "*", kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow
			r.Creations = append(r.Creations, c)
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.CreateACLsResponse).Results[0].ErrorCode }},
		{"DescribeUserScramCredentials/cluster", kerr.ClusterAuthorizationFailed, func() kmsg.Request {
			return kmsg.NewPtrDescribeUserSCRAMCredentialsRequest()
		}, func(r kmsg.Response) int16 { return r.(*kmsg.DescribeUserSCRAMCredentialsResponse).ErrorCode }},
		{"DescribeLogDirs/cluster", kerr.ClusterAuthorizationFailed, func() kmsg.Request {
			return kmsg.NewPtrDescribeLogDirsRequest()
		}, func(r kmsg.Response) int16 { return r.(*kmsg.DescribeLogDirsResponse).ErrorCode }},
		// Destructive ones last.
		{"DeleteTopics/topic", kerr.TopicAuthorizationFailed, func() kmsg.Request {
			r := kmsg.NewPtrDeleteTopicsRequest()
			r.TopicNames = []string{"m-doomed"}
			t := kmsg.NewDeleteTopicsRequestTopic()
			t.Topic = str("m-doomed")
			r.Topics = append(r.Topics, t)
			return r
		}, func(r kmsg.Response) int16 { return r.(*kmsg.DeleteTopicsResponse).Topics[0].ErrorCode }},
	}
}

// authOnly keeps authorization errors and hides the rest: the case is about
// being let through, and a made-up producer id or member fails later checks.
func authOnly(code int16) int16 {
	switch code {
	case kerr.TopicAuthorizationFailed.Code, kerr.GroupAuthorizationFailed.Code,
		kerr.ClusterAuthorizationFailed.Code, kerr.TransactionalIDAuthorizationFailed.Code:
		return code
	}
	return 0
}

// TestACLMatrix: for each API and resource type, the principal holding the
// operation is let through and one without it gets the authorization error.
func TestACLMatrix(t *testing.T) {
	n := startNode(t, nil)
	adm := n.admin(t)
	for _, topic := range []string{"m-topic", "m-doomed"} {
		if _, err := adm.CreateTopic(testCtx(t), 1, 1, nil, topic); err != nil {
			t.Fatal(err)
		}
	}
	createUser(t, adm, "granted", "g-pw")
	createUser(t, adm, "denied", "d-pw")
	allow(t, adm, kadm.NewACLs().Allow("User:granted").
		Topics("m-").ResourcePatternType(kadm.ACLPatternPrefixed).
		Groups("m-").
		TransactionalIDs("m-").
		Clusters().
		Operations(kadm.OpRead, kadm.OpWrite, kadm.OpCreate, kadm.OpDelete, kadm.OpAlter, kadm.OpDescribe,
			kadm.OpDescribeConfigs, kadm.OpAlterConfigs))
	// The denied principal holds an unrelated grant, so "no ACL at all" is
	// not what denies it.
	allow(t, adm, kadm.NewACLs().Allow("User:denied").Topics("elsewhere").Operations(kadm.OpRead))
	// WriteTxnMarkers takes CLUSTER_ACTION, which only brokers hold.
	allow(t, adm, kadm.NewACLs().Allow("User:granted").Clusters().Operations(kadm.OpClusterAction))

	granted := n.client(t, n.addrs[lnSASLPlain], nil, kgo.SASL(mechanism(auth.MechanismScramSHA256, "granted", "g-pw")))
	denied := n.client(t, n.addrs[lnSASLPlain], nil, kgo.SASL(mechanism(auth.MechanismScramSHA256, "denied", "d-pw")))
	// Requests go to the one broker as they are, without the client's own
	// routing (which would first ask FindCoordinator and merge answers).
	for _, cl := range []*kgo.Client{granted, denied} {
		if err := cl.Ping(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	topics, err := adm.ListTopics(testCtx(t), "m-topic")
	if err != nil {
		t.Fatal(err)
	}
	cases := matrixCases(topics["m-topic"].ID)
	// The destructive DeleteTopics stays last.
	cases = append(cases[:len(cases)-1], append(moreMatrixCases(topics["m-topic"].ID), cases[len(cases)-1])...)
	checkMatrixCoversBroker(t, granted, cases)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := denied.Broker(1).Request(testCtx(t), c.req())
			if err != nil {
				t.Fatalf("denied principal: %v", err)
			}
			if got := c.code(resp); got != c.denied.Code {
				t.Errorf("denied principal: code %d (%v), want %s", got, kerr.ErrorForCode(got), c.denied.Message)
			}
			resp, err = granted.Broker(1).Request(testCtx(t), c.req())
			if err != nil {
				t.Fatalf("granted principal: %v", err)
			}
			if got := c.code(resp); got != 0 {
				t.Errorf("granted principal: code %d (%v), want success", got, kerr.ErrorForCode(got))
			}
		})
	}

	// Produce and consume through the clients, topic and group checks together.
	t.Run("Produce+Consume", func(t *testing.T) {
		rec := &kgo.Record{Topic: "m-topic", Value: []byte("v")}
		if err := denied.ProduceSync(testCtx(t), rec).FirstErr(); err == nil {
			t.Error("denied principal produced")
		}
		if err := granted.ProduceSync(testCtx(t), &kgo.Record{Topic: "m-topic", Value: []byte("v")}).FirstErr(); err != nil {
			t.Errorf("granted principal: %v", err)
		}
	})
	t.Run("ListGroups+ListTransactions", func(t *testing.T) { checkFilteredAPIs(t, adm, granted, denied) })
	// Metadata of all topics only lists what the principal may describe.
	t.Run("Metadata/all", func(t *testing.T) {
		resp, err := denied.Request(testCtx(t), kmsg.NewPtrMetadataRequest())
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.(*kmsg.MetadataResponse).Topics; len(got) != 0 {
			t.Errorf("denied principal sees %d topics", len(got))
		}
	})
}
