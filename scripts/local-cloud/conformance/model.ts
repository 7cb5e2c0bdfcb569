// The official API descriptions (reference/openapi/, generated from Alibaba's published metadata and
// official SDK models) as typed data. Test and local-cloud material only: nothing under functions/ or
// shared/ imports this, so the function bundles never carry 370 KB of API description.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface ParamModel {
  name: string;
  /** metadata type: String, Integer, Long, Boolean, RepeatList, Json, ... */
  type: string;
  required: boolean;
  /** `repeatList`: sent as `Name.N` / `Name.N.Item`; `json`: a list sent as one JSON string */
  style?: 'repeatList' | 'json';
  /** sub-parameters of a repeat list (`Tag.N.Key`) */
  items?: ParamModel[];
  itemType?: string;
  /** the value of a String parameter is a JSON document */
  format?: 'json';
  separator?: string;
  enum?: string[];
  min?: number;
  max?: number;
  minLength?: number;
  maxLength?: number;
}

export interface SchemaNode {
  type: 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object' | 'any';
  format?: string;
  items?: SchemaNode;
  properties?: Record<string, SchemaNode>;
}

export interface ActionModel {
  request: ParamModel[];
  requestNotes?: string[];
  /** null when the SDK has no model for the response */
  response: SchemaNode | null;
  /** `Path: sentence` lines saying when a response field appears */
  responseNotes?: string[];
}

export interface ApiModel {
  product: string;
  version: string;
  actions: Record<string, ActionModel>;
  /** parameters the SDK offers on every action although the metadata never lists them */
  sdkOnlyParamsInEveryAction?: Record<string, string>;
}

/** API version -> the file describing it. */
export const API_FILES: Readonly<Record<string, string>> = {
  '2014-05-15': 'slb-2014-05-15.json',
  '2020-04-07': 'cas-2020-04-07.json',
  '2015-01-09': 'alidns-2015-01-09.json',
};

const cache = new Map<string, ApiModel>();

/** The model of an API version, or undefined for a version we hold no description of. */
export function apiModel(version: string): ApiModel | undefined {
  const file = API_FILES[version];
  if (!file) return undefined;
  let model = cache.get(version);
  if (!model) {
    const path = fileURLToPath(new URL(`../../../reference/openapi/${file}`, import.meta.url));
    model = JSON.parse(readFileSync(path, 'utf8')) as ApiModel;
    cache.set(version, model);
  }
  return model;
}

export function actionModel(version: string, action: string): ActionModel | undefined {
  return apiModel(version)?.actions[action];
}
