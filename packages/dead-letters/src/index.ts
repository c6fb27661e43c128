export {
  createDeadLetters,
  type DeadLetter,
  type DeadLetters,
  type FailureGroup,
  type MoveTask,
  type QueueDeadLetters,
  type QueuePair,
  type RedriveResult,
} from "./dead-letters.ts";
export { DeadLetterError } from "./errors.ts";
