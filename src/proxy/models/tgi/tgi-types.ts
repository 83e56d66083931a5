/** The parts of TGI's `/generate` and `/generate_stream` answers the adapter reads (text-generation-inference 1.x–3.x). */
export type TgiFinishReason = 'length' | 'eos_token' | 'stop_sequence' | (string & {});

export interface TgiToken {
  id: number;
  text: string;
  logprob?: number | null;
  special: boolean;
}

export interface TgiSequenceDetails {
  finish_reason: TgiFinishReason;
  generated_tokens: number;
  seed?: number | null;
  prefill?: unknown[];
}

export interface TgiGenerateResponse {
  generated_text: string;
  details?: TgiSequenceDetails & { best_of_sequences?: (TgiSequenceDetails & { generated_text: string })[] | null };
}

export interface TgiStreamEvent {
  index?: number;
  token?: TgiToken;
  generated_text?: string | null;
  /** Present (non-null) only on the last event. `input_length` exists since TGI 2.0. */
  details?: (TgiSequenceDetails & { input_length?: number }) | null;
  error?: string;
  error_type?: string;
}
