package group

import "errors"

// Errors returned by the state machine and the Coordinator. Callers classify them
// with errors.Is; broker/kafka maps each to its Kafka error code (named on the right).
var (
	ErrInvalidGroupID          = errors.New("group: invalid group id")                     // INVALID_GROUP_ID
	ErrUnknownMemberID         = errors.New("group: unknown member id")                    // UNKNOWN_MEMBER_ID
	ErrIllegalGeneration       = errors.New("group: illegal generation")                   // ILLEGAL_GENERATION
	ErrRebalanceInProgress     = errors.New("group: rebalance in progress")                // REBALANCE_IN_PROGRESS
	ErrFencedInstanceID        = errors.New("group: instance id fenced by a newer member") // FENCED_INSTANCE_ID
	ErrInconsistentProtocol    = errors.New("group: inconsistent group protocol")          // INCONSISTENT_GROUP_PROTOCOL
	ErrInvalidSessionTimeout   = errors.New("group: session timeout out of range")         // INVALID_SESSION_TIMEOUT
	ErrMemberIDRequired        = errors.New("group: member id required")                   // MEMBER_ID_REQUIRED
	ErrGroupMaxSizeReached     = errors.New("group: group.max.size reached")               // GROUP_MAX_SIZE_REACHED
	ErrCoordinatorNotAvailable = errors.New("group: coordinator not available")            // COORDINATOR_NOT_AVAILABLE
	ErrNotCoordinator          = errors.New("group: not the coordinator for this group")   // NOT_COORDINATOR
	ErrLoadInProgress          = errors.New("group: coordinator load in progress")         // COORDINATOR_LOAD_IN_PROGRESS
	ErrGroupNotFound           = errors.New("group: group id not found")                   // GROUP_ID_NOT_FOUND
	ErrNonEmptyGroup           = errors.New("group: group is not empty")                   // NON_EMPTY_GROUP
	ErrGroupSubscribedToTopic  = errors.New("group: group is subscribed to the topic")     // GROUP_SUBSCRIBED_TO_TOPIC
	ErrOffsetMetadataTooLarge  = errors.New("group: offset metadata too large")            // OFFSET_METADATA_TOO_LARGE
)
