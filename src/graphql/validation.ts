// Input limits shared by every domain: over-long strings and absurd lists are refused
// with a ValidationError naming the field before any service runs.
import { z } from 'zod';

export const nameSchema = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
export const identifierList = z.array(z.string().min(1).max(200, 'must be at most 200 characters')).max(100, 'at most 100 entries');
export const globList = z.array(z.string().min(1).max(500, 'must be at most 500 characters')).max(100, 'at most 100 entries');
export const pathSchema = z.string().min(1).max(1024, 'must be at most 1024 characters');
export const urlSchema = z.string().min(1).max(2000, 'must be at most 2000 characters');
