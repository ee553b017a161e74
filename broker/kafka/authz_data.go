package kafka

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/auth"
	"github.com/tributary-io/tributary/broker/log"
)

// Authorization steps of the data path: produce, fetch, offsets, transactions.

func authzProduce(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.ProduceRequest)
	code := int16(0)
	if req.TransactionID != nil && !z.ok(opWrite, auth.TransactionalID(*req.TransactionID)) {
		code = txnDenied
	}
	var denied []kmsg.ProduceRequestTopic
	kept := req.Topics[:0:0]
	for _, t := range req.Topics {
		if code != 0 || !z.ok(opWrite, auth.Topic(z.topicName(t.Topic, t.TopicID))) {
			denied = append(denied, t)
		} else {
			kept = append(kept, t)
		}
	}
	if len(denied) == 0 {
		return z.serve()
	}
	if code == 0 {
		code = topicDenied
	}
	req.Topics = kept
	var resp *kmsg.ProduceResponse
	if len(kept) > 0 {
		r, err := z.serve()
		if err != nil || r == nil {
			return r, err
		}
		resp = r.(*kmsg.ProduceResponse)
	} else {
		if req.Acks == 0 {
			return nil, nil
		}
		resp = z.empty().(*kmsg.ProduceResponse)
	}
	for _, t := range denied {
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewProduceResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

func authzFetch(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.FetchRequest)
	if req.ReplicaID >= 0 || req.ReplicaState.ID >= 0 {
		// A follower's fetch is broker-to-broker.
		if !z.ok(opClusterAction, auth.Cluster()) {
			return z.deny(clusterDenied)
		}
		return z.serve()
	}
	var denied []kmsg.FetchRequestTopic
	kept := req.Topics[:0:0]
	for _, t := range req.Topics {
		if z.ok(opRead, auth.Topic(z.topicName(t.Topic, t.TopicID))) {
			kept = append(kept, t)
		} else {
			denied = append(denied, t)
		}
	}
	if len(denied) == 0 {
		return z.serve()
	}
	req.Topics = kept
	r, err := z.serve()
	if err != nil || r == nil {
		return r, err
	}
	// The handler answers a fetchReply whose records stay in the log
	// (fetch_frame.go); its reads run parallel to the topics.
	var resp *kmsg.FetchResponse
	reply, spliced := r.(*fetchReply)
	if spliced {
		resp = reply.FetchResponse
	} else {
		resp = r.(*kmsg.FetchResponse)
	}
	for _, t := range denied {
		if spliced {
			reply.reads = append(reply.reads, make([]log.ReadResult, len(t.Partitions)))
		}
		rt := kmsg.NewFetchResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewFetchResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, topicDenied
			rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = -1, -1, -1
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return r, nil
}

func authzListOffsets(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.ListOffsetsRequest)
	var denied []kmsg.ListOffsetsRequestTopic
	kept := req.Topics[:0:0]
	for _, t := range req.Topics {
		if z.ok(opDescribe, auth.Topic(t.Topic)) {
			kept = append(kept, t)
		} else {
			denied = append(denied, t)
		}
	}
	if len(denied) == 0 {
		return z.serve()
	}
	req.Topics = kept
	r, err := z.serve()
	if err != nil {
		return nil, err
	}
	resp := r.(*kmsg.ListOffsetsResponse)
	for _, t := range denied {
		rt := kmsg.NewListOffsetsResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewListOffsetsResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, topicDenied
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

// authzMetadata: a listing of all topics leaves out the ones the principal may
// not describe; named topics it may not describe answer
// TOPIC_AUTHORIZATION_FAILED. Auto-creation needs CREATE on the cluster or
// the topic; without it an unknown topic stays unknown.
func authzMetadata(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.MetadataRequest)
	all := req.Topics == nil || (z.r.Version == 0 && len(req.Topics) == 0)
	if all {
		r, err := z.serve()
		if err != nil {
			return nil, err
		}
		resp := r.(*kmsg.MetadataResponse)
		kept := resp.Topics[:0]
		for _, t := range resp.Topics {
			if t.Topic != nil && z.quiet(opDescribe, auth.Topic(*t.Topic)) {
				kept = append(kept, t)
			}
		}
		resp.Topics = kept
		return resp, nil
	}
	// denied: no DESCRIBE (TOPIC_AUTHORIZATION_FAILED); uncreatable: unknown
	// and the principal may not create it (UNKNOWN_TOPIC_OR_PARTITION instead
	// of auto-creating it).
	var denied, uncreatable []kmsg.MetadataRequestTopic
	kept := req.Topics[:0:0]
	for _, t := range req.Topics {
		name := z.topicName("", t.TopicID)
		if t.Topic != nil {
			name = *t.Topic
		}
		if !z.ok(opDescribe, auth.Topic(name)) {
			denied = append(denied, t)
			continue
		}
		if _, exists := z.snap.Topics[name]; !exists && t.Topic != nil &&
			!z.quiet(opCreate, auth.Cluster()) && !z.quiet(opCreate, auth.Topic(name)) {
			uncreatable = append(uncreatable, t)
			continue
		}
		kept = append(kept, t)
	}
	if len(denied) == 0 && len(uncreatable) == 0 {
		return z.serve()
	}
	req.Topics = kept
	if len(kept) == 0 {
		// No topic list means all topics (an empty one too at v0): list them
		// for the brokers and cluster fields, then drop the topics.
		req.Topics = nil
	}
	r, err := z.serve()
	if err != nil {
		return nil, err
	}
	resp := r.(*kmsg.MetadataResponse)
	if len(kept) == 0 {
		resp.Topics = nil
	}
	for _, t := range denied {
		rt := kmsg.NewMetadataResponseTopic()
		rt.Topic, rt.TopicID, rt.ErrorCode = t.Topic, t.TopicID, topicDenied
		resp.Topics = append(resp.Topics, rt)
	}
	for _, t := range uncreatable {
		rt := kmsg.NewMetadataResponseTopic()
		rt.Topic, rt.ErrorCode = t.Topic, kerr.UnknownTopicOrPartition.Code
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

func authzOffsetCommit(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.OffsetCommitRequest)
	if !z.ok(opRead, auth.Group(req.Group)) {
		return offsetCommitDenyAll(z, req, groupDenied), nil
	}
	var denied []kmsg.OffsetCommitRequestTopic
	kept := req.Topics[:0:0]
	for _, t := range req.Topics {
		if z.ok(opRead, auth.Topic(z.topicName(t.Topic, t.TopicID))) {
			kept = append(kept, t)
		} else {
			denied = append(denied, t)
		}
	}
	if len(denied) == 0 {
		return z.serve()
	}
	req.Topics = kept
	r, err := z.serve()
	if err != nil {
		return nil, err
	}
	resp := r.(*kmsg.OffsetCommitResponse)
	resp.Topics = append(resp.Topics, offsetCommitDenyAll(z, &kmsg.OffsetCommitRequest{Topics: denied}, topicDenied).Topics...)
	return resp, nil
}

func offsetCommitDenyAll(z *authz, req *kmsg.OffsetCommitRequest, code int16) *kmsg.OffsetCommitResponse {
	resp := z.empty().(*kmsg.OffsetCommitResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// authzOffsetFetch: DESCRIBE on the group; offsets of topics the principal
// may not describe are left out (as Kafka filters them).
func authzOffsetFetch(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.OffsetFetchRequest)
	if z.r.Version < 8 {
		if !z.ok(opDescribe, auth.Group(req.Group)) {
			return z.deny(groupDenied)
		}
		r, err := z.serve()
		if err != nil {
			return nil, err
		}
		resp := r.(*kmsg.OffsetFetchResponse)
		kept := resp.Topics[:0]
		for _, t := range resp.Topics {
			if z.quiet(opDescribe, auth.Topic(t.Topic)) {
				kept = append(kept, t)
			}
		}
		resp.Topics = kept
		return resp, nil
	}
	var denied []string
	kept := req.Groups[:0:0]
	for _, g := range req.Groups {
		if z.ok(opDescribe, auth.Group(g.Group)) {
			kept = append(kept, g)
		} else {
			denied = append(denied, g.Group)
		}
	}
	req.Groups = kept
	resp := z.empty().(*kmsg.OffsetFetchResponse)
	if len(kept) > 0 {
		r, err := z.serve()
		if err != nil {
			return nil, err
		}
		resp = r.(*kmsg.OffsetFetchResponse)
	}
	for i := range resp.Groups {
		g := &resp.Groups[i]
		topics := g.Topics[:0]
		for _, t := range g.Topics {
			if z.quiet(opDescribe, auth.Topic(z.topicName(t.Topic, t.TopicID))) {
				topics = append(topics, t)
			}
		}
		g.Topics = topics
	}
	for _, name := range denied {
		g := kmsg.NewOffsetFetchResponseGroup()
		g.Group, g.ErrorCode = name, groupDenied
		resp.Groups = append(resp.Groups, g)
	}
	return resp, nil
}

// authzFindCoordinator: DESCRIBE on the group or transactional id.
func authzFindCoordinator(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.FindCoordinatorRequest)
	res := func(key string) (auth.Resource, int16) {
		if req.CoordinatorType == 1 {
			return auth.TransactionalID(key), txnDenied
		}
		return auth.Group(key), groupDenied
	}
	if z.r.Version < 4 {
		r, code := res(req.CoordinatorKey)
		if !z.ok(opDescribe, r) {
			resp := z.empty().(*kmsg.FindCoordinatorResponse)
			resp.ErrorCode, resp.NodeID, resp.Port = code, -1, -1
			return resp, nil
		}
		return z.serve()
	}
	var denied []string
	var codes []int16
	kept := req.CoordinatorKeys[:0:0]
	for _, k := range req.CoordinatorKeys {
		r, code := res(k)
		if z.ok(opDescribe, r) {
			kept = append(kept, k)
		} else {
			denied, codes = append(denied, k), append(codes, code)
		}
	}
	if len(denied) == 0 {
		return z.serve()
	}
	req.CoordinatorKeys = kept
	resp := z.empty().(*kmsg.FindCoordinatorResponse)
	if len(kept) > 0 {
		r, err := z.serve()
		if err != nil {
			return nil, err
		}
		resp = r.(*kmsg.FindCoordinatorResponse)
	}
	for i, k := range denied {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key, c.ErrorCode, c.NodeID, c.Port = k, codes[i], -1, -1
		resp.Coordinators = append(resp.Coordinators, c)
	}
	return resp, nil
}

// authzInitProducerID: WRITE on the transactional id; an idempotent producer
// needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic (Kafka 3's rule).
func authzInitProducerID(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.InitProducerIDRequest)
	if req.TransactionalID != nil {
		if !z.ok(opWrite, auth.TransactionalID(*req.TransactionalID)) {
			return z.deny(txnDenied)
		}
		return z.serve()
	}
	if z.quiet(opIdempotentWrite, auth.Cluster()) {
		return z.serve()
	}
	for name := range z.snap.Topics {
		if z.quiet(opWrite, auth.Topic(name)) {
			return z.serve()
		}
	}
	z.ok(opIdempotentWrite, auth.Cluster()) // logs the denial
	return z.deny(clusterDenied)
}

func authzAddPartitionsToTxn(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.AddPartitionsToTxnRequest)
	txnOK := z.ok(opWrite, auth.TransactionalID(req.TransactionalID))
	var deniedTopics []string
	for _, t := range req.Topics {
		if !txnOK || !z.ok(opWrite, auth.Topic(t.Topic)) {
			deniedTopics = append(deniedTopics, t.Topic)
		}
	}
	if txnOK && len(deniedTopics) == 0 {
		return z.serve()
	}
	// Kafka fails the whole request: denied partitions get the authorization
	// error, the others OPERATION_NOT_ATTEMPTED.
	resp := z.empty().(*kmsg.AddPartitionsToTxnResponse)
	for _, t := range req.Topics {
		code := kerr.OperationNotAttempted.Code
		switch {
		case !txnOK:
			code = txnDenied
		case containsString(deniedTopics, t.Topic):
			code = topicDenied
		}
		rt := kmsg.NewAddPartitionsToTxnResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p, code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

func authzAddOffsetsToTxn(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.AddOffsetsToTxnRequest)
	if !z.ok(opWrite, auth.TransactionalID(req.TransactionalID)) {
		return z.deny(txnDenied)
	}
	if !z.ok(opRead, auth.Group(req.Group)) {
		return z.deny(groupDenied)
	}
	return z.serve()
}

func authzTxnOffsetCommit(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.TxnOffsetCommitRequest)
	code := int16(0)
	switch {
	case !z.ok(opWrite, auth.TransactionalID(req.TransactionalID)):
		code = txnDenied
	case !z.ok(opRead, auth.Group(req.Group)):
		code = groupDenied
	}
	var denied []kmsg.TxnOffsetCommitRequestTopic
	kept := req.Topics[:0:0]
	for _, t := range req.Topics {
		if code == 0 && z.ok(opRead, auth.Topic(z.topicName(t.Topic, t.TopicID))) {
			kept = append(kept, t)
		} else {
			denied = append(denied, t)
		}
	}
	if len(denied) == 0 {
		return z.serve()
	}
	if code == 0 {
		code = topicDenied
	}
	req.Topics = kept
	resp := z.empty().(*kmsg.TxnOffsetCommitResponse)
	if len(kept) > 0 {
		r, err := z.serve()
		if err != nil {
			return nil, err
		}
		resp = r.(*kmsg.TxnOffsetCommitResponse)
	}
	for _, t := range denied {
		rt := kmsg.NewTxnOffsetCommitResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

func authzDeleteRecords(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.DeleteRecordsRequest)
	return filterServe(z, &req.Topics,
		func(t kmsg.DeleteRecordsRequestTopic) bool { return z.ok(opDelete, auth.Topic(t.Topic)) },
		func(resp *kmsg.DeleteRecordsResponse, denied []kmsg.DeleteRecordsRequestTopic) {
			for _, t := range denied {
				rt := kmsg.NewDeleteRecordsResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewDeleteRecordsResponseTopicPartition()
					rp.Partition, rp.ErrorCode, rp.LowWatermark = p.Partition, topicDenied, -1
					rt.Partitions = append(rt.Partitions, rp)
				}
				resp.Topics = append(resp.Topics, rt)
			}
		})
}

func authzDescribeProducers(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.DescribeProducersRequest)
	return filterServe(z, &req.Topics,
		func(t kmsg.DescribeProducersRequestTopic) bool { return z.ok(opRead, auth.Topic(t.Topic)) },
		func(resp *kmsg.DescribeProducersResponse, denied []kmsg.DescribeProducersRequestTopic) {
			for _, t := range denied {
				rt := kmsg.NewDescribeProducersResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewDescribeProducersResponseTopicPartition()
					rp.Partition, rp.ErrorCode = p, topicDenied
					rt.Partitions = append(rt.Partitions, rp)
				}
				resp.Topics = append(resp.Topics, rt)
			}
		})
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func authzOffsetForLeaderEpoch(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.OffsetForLeaderEpochRequest)
	if req.ReplicaID >= 0 {
		if !z.ok(opClusterAction, auth.Cluster()) {
			return z.deny(clusterDenied)
		}
		return z.serve()
	}
	return filtered(z, &req.Topics,
		func(t kmsg.OffsetForLeaderEpochRequestTopic) bool { return z.ok(opDescribe, auth.Topic(t.Topic)) },
		func(r kmsg.Response, t kmsg.OffsetForLeaderEpochRequestTopic) {
			resp := r.(*kmsg.OffsetForLeaderEpochResponse)
			rt := kmsg.NewOffsetForLeaderEpochResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, topicDenied
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		})
}

// filterServe serves a request that names several resources: the allowed items
// stay in *items and are served; each denied one is answered by addDenied in the
// response, so a client sees per-resource authorization errors.
func filterServe[T any, R kmsg.Response](z *authz, items *[]T, allowed func(T) bool, addDenied func(R, []T)) (kmsg.Response, error) {
	var denied []T
	kept := (*items)[:0:0]
	for _, it := range *items {
		if allowed(it) {
			kept = append(kept, it)
		} else {
			denied = append(denied, it)
		}
	}
	if len(denied) == 0 {
		return z.serve()
	}
	*items = kept
	resp := z.empty().(R)
	if len(kept) > 0 {
		r, err := z.serve()
		if err != nil {
			return nil, err
		}
		resp = r.(R)
	}
	addDenied(resp, denied)
	return resp, nil
}
