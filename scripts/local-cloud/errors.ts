// An API error as the real service answers it: the code, the HTTP status and a message.
// The server turns it into `{RequestId, HostId, Code, Message, Recommend}`.

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 400,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const missingParameter = (name: string): ApiError =>
  new ApiError(
    'MissingParameter',
    `The input parameter "${name}" that is mandatory for processing this request is not supplied.`,
  );

export const invalidParameter = (name: string, detail = 'is not valid'): ApiError =>
  new ApiError('InvalidParameter', `The specified parameter "${name}" ${detail}.`);
